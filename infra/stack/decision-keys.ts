// The local stack's decision-signing key pair (Ed25519): generated once into the cache directory, shared by the
// demo, the tests, `warden up` and the escalation service started locally. The escalation service signs with the
// private key; the executor and the planner are given only the public key (WARDEN_DECISION_PUBLIC_KEYS).
import {
  LOCAL_GUARD_KEY_ID,
  decisionKeysFileIn,
  ensureDecisionKeyFile,
  ensureProducerKeyFiles,
  guardKeysFileIn,
  type DecisionKeyFile,
} from '@warden/runtime';
import { cacheDirFrom } from './config.js';

/** The stack's decision keys in the text forms the services read. */
export type StackDecisionKeys = DecisionKeyFile;

/** Where the stack keeps its decision keys. */
export const decisionKeysFile = decisionKeysFileIn;

/** The stack's decision keys, generated on first use. */
export function ensureDecisionKeys(cacheDir: string = cacheDirFrom()): StackDecisionKeys {
  return ensureDecisionKeyFile(decisionKeysFileIn(cacheDir));
}

/**
 * The stack's guard key pair (ADR 0018), generated on first use: the guard signs its verdicts with the private key
 * (GUARD_SIGNING_KEY); the executor holds only the public key (WARDEN_GUARD_PUBLIC_KEYS).
 */
export function ensureGuardKeys(cacheDir: string = cacheDirFrom()): StackDecisionKeys {
  return ensureDecisionKeyFile(guardKeysFileIn(cacheDir), LOCAL_GUARD_KEY_ID);
}

/** The stack's producer key pairs, one per role (ADR 0018), generated on first use. */
export function ensureProducerKeys(cacheDir: string = cacheDirFrom()): ReturnType<typeof ensureProducerKeyFiles> {
  return ensureProducerKeyFiles(cacheDir);
}
