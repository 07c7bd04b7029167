// The local stack's decision-signing key pair (Ed25519): generated once into the cache directory, shared by the
// demo, the tests and the escalation service started locally. The escalation service signs with the private key;
// the executor and the planner are given only the public key (WARDEN_DECISION_PUBLIC_KEYS).
import fs from 'node:fs';
import path from 'node:path';
import { generateSigningKeyPair } from '@warden/contracts';
import { cacheDirFrom } from './config.js';

/** The stack's decision keys in the text forms the services read. */
export interface StackDecisionKeys {
  readonly keyId: string;
  /** `keyId:base64(PKCS#8 DER)`: ESCALATION_SIGNING_KEY of the escalation service. */
  readonly signingKeyText: string;
  /** `keyId:base64(SPKI DER)`: WARDEN_DECISION_PUBLIC_KEYS of the executor and the planner. */
  readonly verifyingKeyText: string;
}

/** Where the stack keeps its decision keys. */
export const decisionKeysFile = (cacheDir: string): string => path.join(cacheDir, 'keys', 'decision-keys.json');

/**
 * The stack's decision keys, generated on first use (file mode 0600, created exclusively so that concurrent
 * first uses agree on one pair).
 */
export function ensureDecisionKeys(cacheDir: string = cacheDirFrom()): StackDecisionKeys {
  const file = decisionKeysFile(cacheDir);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const pair = generateSigningKeyPair('warden-local-1');
    const keys: StackDecisionKeys = {
      keyId: pair.signingKey.keyId,
      signingKeyText: pair.signingKeyText,
      verifyingKeyText: pair.verifyingKeyText,
    };
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(keys, null, 2), { mode: 0o600 });
    try {
      fs.linkSync(tmp, file); // fails if another process created it first: theirs wins
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as StackDecisionKeys;
}
