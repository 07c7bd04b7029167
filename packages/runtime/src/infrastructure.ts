import { RegistryUnavailableError, isWardenError } from '@warden/contracts';
import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { InfrastructureError } from './errors.js';

/** The servers a worker depends on: an outage of one of them is never the fault of the event being handled. */
export const Dependencies = { kafka: 'kafka', registry: 'registry', mongo: 'mongo' } as const;

/** A server a worker depends on (see Dependencies). */
export type Dependency = (typeof Dependencies)[keyof typeof Dependencies];

/** Every dependency, in the order readiness reports them. */
export const ALL_DEPENDENCIES: readonly Dependency[] = [Dependencies.kafka, Dependencies.registry, Dependencies.mongo];

/**
 * What a failure says about the event that met it:
 * - infrastructure: a dependency is unreachable or unavailable; the event is fine. The partition waits for the
 *   dependency (capped backoff, group session kept) and the event is handled again: never dead-lettered.
 * - transient: it may pass on a later attempt (a retryable handler error, an unknown error): retried up to
 *   WARDEN_MAX_ATTEMPTS, then dead-lettered.
 * - poison: it never will (undecodable, invalid, refused by the handler): dead-lettered at once.
 */
export const FailureKinds = { infrastructure: 'infrastructure', transient: 'transient', poison: 'poison' } as const;

/** What a failure says about its event (see FailureKinds). */
export type FailureKind = (typeof FailureKinds)[keyof typeof FailureKinds];

/** kafkajs errors that mean the broker could not be reached or did not answer (by name: kafkajs exports no types). */
const KAFKA_UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSLockTimeout',
]);

/**
 * MongoDB server error codes that mean the server is going away or not the one to ask, not that the operation is
 * wrong: HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress, PrimarySteppedDown, SocketException,
 * NotWritablePrimary, InterruptedAtShutdown, InterruptedDueToReplStateChange, NotPrimaryNoSecondaryOk,
 * NotPrimaryOrSecondary.
 */
const MONGO_UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);

/**
 * MongoDB driver errors whose classes the driver does not export, by name: no pooled connection came free in time
 * (a server that hangs), the pool was closed. (A cleared pool's error is a MongoNetworkError.)
 */
const MONGO_UNAVAILABLE_NAMES = new Set(['MongoWaitQueueTimeoutError', 'MongoPoolClosedError']);

/** How deep a chain of causes is followed (a cycle or a runaway chain stops here). */
const MAX_CAUSE_DEPTH = 8;

/** The dependency this one error (not its causes) says is unavailable, if any. */
function ownDependency(error: unknown): Dependency | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if (error instanceof InfrastructureError) return error.dependency;
  if (error instanceof RegistryUnavailableError) return Dependencies.registry;
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    (error instanceof MongoServerError && typeof error.code === 'number' && MONGO_UNAVAILABLE_CODES.has(error.code)) ||
    (error instanceof Error && MONGO_UNAVAILABLE_NAMES.has(error.name))
  ) {
    return Dependencies.mongo;
  }
  const e = error as { name?: unknown; retriable?: unknown };
  if (typeof e.name === 'string' && e.name.startsWith('KafkaJS')) {
    // A retriable protocol answer (leader or coordinator moving or loading, a request timed out, not enough
    // replicas) is the broker's state; a non-retriable one (fenced, unknown member, too large) is not an outage.
    if (KAFKA_UNREACHABLE.has(e.name) || e.retriable === true) return Dependencies.kafka;
  }
  return undefined;
}

/** The causes of an error: its `cause`, and the errors of an aggregate. */
function causesOf(error: unknown): unknown[] {
  if (typeof error !== 'object' || error === null) return [];
  const e = error as { cause?: unknown; errors?: unknown };
  return [...(e.cause === undefined ? [] : [e.cause]), ...(Array.isArray(e.errors) ? (e.errors as unknown[]) : [])];
}

/**
 * The dependency whose outage caused `error`, found in the error or any of its causes (a store's error wrapping a
 * MongoDB network error, a PublishError wrapping a broker that does not answer, kafkajs's retries-exceeded wrapping
 * a connection error), or undefined when nothing in the chain is an outage.
 */
export function dependencyOf(error: unknown): Dependency | undefined {
  let level: unknown[] = [error];
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && level.length > 0; depth++) {
    for (const e of level) {
      const found = ownDependency(e);
      if (found !== undefined) return found;
    }
    level = level.flatMap(causesOf);
  }
  return undefined;
}

/**
 * Classifies a failure (see FailureKinds). An outage anywhere in the chain of causes wins over the flags of the
 * errors wrapping it: a store that wraps a network error in a terminal error must not dead-letter a good event.
 * Otherwise a WardenError's `retryable` decides; any other error is presumed transient.
 */
export function failureKindOf(error: unknown): FailureKind {
  if (dependencyOf(error) !== undefined) return FailureKinds.infrastructure;
  if (isWardenError(error) && !error.retryable) return FailureKinds.poison;
  return FailureKinds.transient;
}

/**
 * A short reason for an outage, for readiness and logs: the error's name and message, and its cause's message when
 * it says more (fetch's "fetch failed" hides the refused connection in its cause), clipped; never a stack.
 */
export function outageReason(error: unknown, maxChars = 300): string {
  if (error instanceof InfrastructureError && error.cause !== undefined) return outageReason(error.cause, maxChars);
  const e = error as { name?: unknown; message?: unknown; cause?: { message?: unknown } } | undefined;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const cause = typeof e?.cause?.message === 'string' ? e.cause.message : undefined;
  const text = `${name}: ${message}${cause === undefined || message.includes(cause) ? '' : ` (${cause})`}`;
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

/** Wraps an outage met while handling, naming the dependency; a WardenError with the original as its cause. */
export function asInfrastructureError(error: unknown, dependency: Dependency): InfrastructureError {
  if (error instanceof InfrastructureError) return error;
  return new InfrastructureError(dependency, `${dependency} unavailable: ${outageReason(error)}`, { cause: error });
}
