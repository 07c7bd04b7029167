import { createRequire } from 'node:module';

/** kafkajs's `Cluster.prototype.findGroupCoordinator` (kafkajs 2.2.x internals; `this` is the producer's cluster). */
type Lookup = (this: object, args: CoordinatorLookupArgs) => Promise<unknown>;

/** What kafkajs asks: the coordinator of a consumer group, or (coordinatorType 1) of a transactional id. */
export interface CoordinatorLookupArgs {
  readonly groupId: string;
  readonly coordinatorType?: number;
}

/** kafkajs's COORDINATOR_TYPES.TRANSACTION. */
const TRANSACTION = 1;

/** What is known of one registered transactional producer's coordinators. */
interface Known {
  /** The producer's cluster (kafkajs makes one per producer): a recreated producer starts afresh. */
  cluster?: object;
  /** The transaction coordinator, as found at the current transaction's first lookup. */
  transaction?: Promise<unknown> | undefined;
  /** Set by beginTransaction: the next transaction-coordinator lookup goes to the broker. */
  fresh: boolean;
  /** Consumer groups' coordinators, as last found. */
  readonly groups: Map<string, Promise<unknown>>;
  /** Consumer groups looked up in the current transaction (a second lookup is kafkajs's stale-coordinator retry). */
  readonly groupsThisTransaction: Set<string>;
}

/**
 * Which of kafkajs's coordinator lookups a runtime producer's transaction needs (ADR 0036). kafkajs sends a
 * FindCoordinator before each transactional request and caches none: four round trips of a transaction's nine. For
 * the producers the runtime registers:
 *
 * - the transaction coordinator is looked up at the transaction's first request, and that answer serves its other
 *   requests (AddOffsetsToTxn, EndTxn). That first lookup is kept on purpose: right after an EndTxn the coordinator
 *   is still completing the commit, and a next transaction that skips it meets CONCURRENT_TRANSACTIONS retries
 *   (ADR 0035 measured caching every lookup: 1.8x slower back to back);
 * - a consumer group's coordinator (for TxnOffsetCommit) is kept from one transaction to the next; a second lookup in
 *   the same transaction (kafkajs's retry after a stale coordinator) goes to the broker.
 *
 * A lookup that fails is not kept. Any failed transaction drops its producer (PartitionTransactions), and with it
 * what was known. Producers not registered (admin, consumers, other code in the process) are looked up as kafkajs does.
 */
export class CoordinatorLookups {
  private readonly known = new Map<string, Known>();
  /** The transactional id of a registered producer's cluster. */
  private readonly idOf = new WeakMap<object, string>();
  private counts = { asked: 0, sent: 0 };

  /** Starts applying to the producer of `transactionalId` (until forget). */
  register(transactionalId: string): void {
    this.known.set(transactionalId, { fresh: true, groups: new Map(), groupsThisTransaction: new Set() });
  }

  forget(transactionalId: string): void {
    this.known.delete(transactionalId);
  }

  /** Call before each transaction of a registered producer: its first lookup goes to the broker. */
  beginTransaction(transactionalId: string): void {
    const known = this.known.get(transactionalId);
    if (known === undefined) return;
    known.fresh = true;
    known.groupsThisTransaction.clear();
  }

  /** Answers kafkajs's lookup from `cluster`: from what is known, or by `ask` (the broker). */
  lookup(cluster: object, args: CoordinatorLookupArgs, ask: () => Promise<unknown>): Promise<unknown> {
    this.counts.asked++;
    const transactional = args.coordinatorType === TRANSACTION;
    const id = transactional ? args.groupId : this.idOf.get(cluster);
    const known = id === undefined ? undefined : this.known.get(id);
    if (known === undefined) return this.send(ask);
    if (transactional) {
      if (known.cluster !== cluster) {
        known.cluster = cluster;
        known.groups.clear();
        this.idOf.set(cluster, args.groupId);
      } else if (!known.fresh && known.transaction !== undefined) return known.transaction;
      known.fresh = false;
      const found = (known.transaction = this.send(ask));
      found.catch(() => {
        if (known.transaction === found) known.transaction = undefined;
      });
      return found;
    }
    if (known.cluster !== cluster) return this.send(ask);
    const retry = known.groupsThisTransaction.has(args.groupId);
    known.groupsThisTransaction.add(args.groupId);
    const held = known.groups.get(args.groupId);
    if (held !== undefined && !retry) return held;
    const found = this.send(ask);
    known.groups.set(args.groupId, found);
    found.catch(() => {
      if (known.groups.get(args.groupId) === found) known.groups.delete(args.groupId);
    });
    return found;
  }

  /** Lookups kafkajs asked for, and those sent to the broker (the rest were answered from what was known). */
  stats(): { readonly asked: number; readonly sent: number } {
    return { ...this.counts };
  }

  private send(ask: () => Promise<unknown>): Promise<unknown> {
    this.counts.sent++;
    return ask();
  }
}

/** The runtime's coordinator lookups (one per process, as kafkajs's patched prototype is). */
export const coordinatorLookups = new CoordinatorLookups();

let installed: boolean | undefined;

/**
 * Routes kafkajs's coordinator lookups through `coordinatorLookups` (once per process). Returns false, changing
 * nothing, if this kafkajs has no `Cluster.prototype.findGroupCoordinator` (then every lookup is kafkajs's own).
 */
export function installCoordinatorLookups(): boolean {
  if (installed !== undefined) return installed;
  const Cluster = createRequire(import.meta.url)('kafkajs/src/cluster/index.js') as
    { prototype?: { findGroupCoordinator?: Lookup } } | undefined;
  const asIs = Cluster?.prototype?.findGroupCoordinator;
  if (Cluster?.prototype === undefined || typeof asIs !== 'function') return (installed = false);
  Cluster.prototype.findGroupCoordinator = function (this: object, args: CoordinatorLookupArgs) {
    return coordinatorLookups.lookup(this, args, () => asIs.call(this, args));
  };
  return (installed = true);
}
