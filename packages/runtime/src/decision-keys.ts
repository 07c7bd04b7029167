import fs from 'node:fs';
import path from 'node:path';
import { ProducerRoles, generateSigningKeyPair, type ProducerRole } from '@warden/contracts';

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

/** Where a local installation keeps the producer key pair of a role (`producer-<role>.json`, ADR 0018). */
export const producerKeysFileIn = (cacheDir: string, role: ProducerRole): string =>
  path.join(cacheDir, 'keys', `producer-${role}.json`);

/**
 * The producer key pairs of every role of a local installation, generated on first use: each worker signs what it
 * produces with its role's private key (WARDEN_PRODUCER_SIGNING_KEY); verifiers get every public key, under its role
 * (WARDEN_PRODUCER_PUBLIC_KEYS, see producerPublicKeysText).
 */
export function ensureProducerKeyFiles(cacheDir: string): Record<ProducerRole, DecisionKeyFile> {
  const out = {} as Record<ProducerRole, DecisionKeyFile>;
  for (const role of ProducerRoles)
    out[role] = ensureDecisionKeyFile(producerKeysFileIn(cacheDir, role), `${role}-local-1`);
  return out;
}

/** The producer key pairs of a local installation if they were generated (undefined if any is missing). */
export function producerKeyFilesIn(cacheDir: string): Record<ProducerRole, DecisionKeyFile> | undefined {
  if (!ProducerRoles.every((role) => fs.existsSync(producerKeysFileIn(cacheDir, role)))) return undefined;
  return ensureProducerKeyFiles(cacheDir);
}

/** WARDEN_PRODUCER_PUBLIC_KEYS for a set of producer key pairs: `role=keyId:base64spki,...`. */
export function producerPublicKeysText(files: Readonly<Record<ProducerRole, DecisionKeyFile>>): string {
  return ProducerRoles.map((role) => `${role}=${files[role].verifyingKeyText}`).join(',');
}
