import {
  eventDataSchemas,
  signVerdict,
  type EventDataInput,
  type SigningKey,
  type VerdictType,
} from '@warden/contracts';

/**
 * Signs the guard's verdicts (ADR 0018): returns the data to publish, with its `signature`. What is signed is the
 * data as it goes on the wire (redacted as the codec will redact it, in zod's output form), since that is what the
 * executor reads and checks. Without a key the data goes unsigned, and executors refuse it (fail closed).
 */
export type VerdictSigner = <T extends VerdictType>(
  type: T,
  taskId: string,
  tenantId: string,
  data: EventDataInput<T>,
) => EventDataInput<T>;

/** A signer under `key` (undefined: verdicts go unsigned); `redact` is the codec's, so the signed data is the wire's. */
export function verdictSigner(key: SigningKey | undefined, redact: <V>(value: V) => V): VerdictSigner {
  return (type, taskId, tenantId, data) => {
    if (key === undefined) return data;
    const wire = eventDataSchemas[type].parse(redact(data));
    return { ...wire, signature: signVerdict(type, taskId, tenantId, wire, key) } as EventDataInput<typeof type>;
  };
}
