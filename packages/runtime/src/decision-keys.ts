import fs from 'node:fs';
import path from 'node:path';
import { generateSigningKeyPair } from '@warden/contracts';

/** A decision-signing key pair in the text forms the services read. */
export interface DecisionKeyFile {
  readonly keyId: string;
  /** `keyId:base64(PKCS#8 DER)`: ESCALATION_SIGNING_KEY of the escalation service. */
  readonly signingKeyText: string;
  /** `keyId:base64(SPKI DER)`: WARDEN_DECISION_PUBLIC_KEYS of the executor and the planner. */
  readonly verifyingKeyText: string;
}

/** Where a local installation keeps its decision keys, below its cache directory. */
export const decisionKeysFileIn = (cacheDir: string): string => path.join(cacheDir, 'keys', 'decision-keys.json');

/**
 * Where a local installation keeps the guard's verdict-signing key pair (same file form as the decision keys:
 * GUARD_SIGNING_KEY of the guard is its signingKeyText, WARDEN_GUARD_PUBLIC_KEYS of the executor its
 * verifyingKeyText; ADR 0018).
 */
export const guardKeysFileIn = (cacheDir: string): string => path.join(cacheDir, 'keys', 'guard-keys.json');

/** The key id of a local installation's guard key pair. */
export const LOCAL_GUARD_KEY_ID = 'warden-guard-local-1';

/**
 * The decision keys of a file, generated on first use (file mode 0600, created exclusively so that concurrent first
 * uses agree on one pair). For local installations (the stack, the demo, `warden up`); production keys come from a
 * secret store.
 */
export function ensureDecisionKeyFile(file: string, keyId = 'warden-local-1'): DecisionKeyFile {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const pair = generateSigningKeyPair(keyId);
    const keys: DecisionKeyFile = {
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
  return JSON.parse(fs.readFileSync(file, 'utf8')) as DecisionKeyFile;
}
