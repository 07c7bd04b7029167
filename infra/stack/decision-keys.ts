// The local stack's decision-signing key pair (Ed25519): generated once into the cache directory, shared by the
// demo, the tests, `warden up` and the escalation service started locally. The escalation service signs with the
// private key; the executor and the planner are given only the public key (WARDEN_DECISION_PUBLIC_KEYS).
import { decisionKeysFileIn, ensureDecisionKeyFile, type DecisionKeyFile } from '@warden/runtime';
import { cacheDirFrom } from './config.js';

/** The stack's decision keys in the text forms the services read. */
export type StackDecisionKeys = DecisionKeyFile;

/** Where the stack keeps its decision keys. */
export const decisionKeysFile = decisionKeysFileIn;

/** The stack's decision keys, generated on first use. */
export function ensureDecisionKeys(cacheDir: string = cacheDirFrom()): StackDecisionKeys {
  return ensureDecisionKeyFile(decisionKeysFileIn(cacheDir));
}
