import type { DecisionTrust } from '@warden/contracts';
import type { Logger } from 'pino';
import type { RuntimeDeps } from './deps.js';

/**
 * How a worker that acts on people's decisions trusts them, from its configuration: the public keys it was given,
 * none (every decision refused: fail closed) when unset. Says so at start: an error when the insecure development
 * setting accepts unsigned decisions, a warning when no key is configured.
 */
export function decisionTrustOf(deps: Pick<RuntimeDeps, 'config'> & { readonly logger: Logger }): DecisionTrust {
  const trust = deps.config.decisionTrust ?? { keys: new Map(), insecureAcceptUnsigned: false };
  if (trust.insecureAcceptUnsigned) {
    deps.logger.error(
      "INSECURE: WARDEN_INSECURE_UNSIGNED_DECISIONS=true: people's decisions are accepted WITHOUT checking who " +
        'signed them; anyone able to write to the verdicts topic can approve actions. Development only.',
    );
  } else if (trust.keys.size === 0) {
    deps.logger.warn('no WARDEN_DECISION_PUBLIC_KEYS: every HumanApproved / HumanDenied will be refused (fail closed)');
  }
  return trust;
}
