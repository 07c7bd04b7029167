/**
 * Coordinator-cache bench (ADR 0035): does caching kafkajs's coordinator lookups make a transaction faster? kafkajs
 * sends a FindCoordinator before each transactional request (AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit,
 * EndTxn) and caches none. One transactional producer, with the runtime's producer settings and retry, commits one
 * message and a consumed offset per transaction, in alternating blocks: kafkajs as it is (the baseline), then with
 * `Cluster.prototype.findGroupCoordinator` memoised (what a cache would do), then with the runtime's lookups (ADR
 * 0036: the transaction coordinator looked up once at each transaction's start, a group's kept), in the same run.
 *
 * The bench measures, it does not gate: it prints p50/p99 per mode, the ratio, and the lookups per transaction. It
 * patches kafkajs only inside this process, for the cached blocks. Needs the stack: npm run stack -- up; then
 * npm run bench -- coordinator-cache. BENCH_TRANSACTIONS (default 600) per mode, in blocks of 150.
 */
import { createRequire } from 'node:module';
import { TRANSACTION_RETRY, coordinatorLookups, createKafka, ensureTopics, producerConfig } from '@warden/runtime';
import { testWorkerConfig } from '@warden/runtime/testing';
import { pino } from 'pino';
import { benchSetting } from './config.js';
import { benchEndpoints, percentile } from './support.js';

type Lookup = (this: unknown, args: { groupId: string; coordinatorType?: number }) => Promise<unknown>;
const Cluster = createRequire(import.meta.resolve('kafkajs'))('./src/cluster/index.js') as {
  prototype: { findGroupCoordinator: Lookup };
};
const asIs = Cluster.prototype.findGroupCoordinator;
const cache = new Map<string, Promise<unknown>>();
let lookups = 0;
const counted: Lookup = function (args) {
  lookups++;
  return asIs.call(this, args);
};
const cached: Lookup = function (args) {
  lookups++;
  const key = `${args.coordinatorType ?? 0}|${args.groupId}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = asIs.call(this, args);
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
};

const PER_MODE = benchSetting('BENCH_TRANSACTIONS', 600);
const BLOCK = 150;
const WARM = 10; // the first transactions of a block are left out (the mode just changed)
const config = testWorkerConfig(benchEndpoints());
const kafka = createKafka(config.brokers, 'bench-coordinator', pino({ level: 'error' }), config.kafkaSecurity);
const admin = kafka.admin();
await admin.connect();
const topic = `${config.topicPrefix}.coordinator-cache`;
await ensureTopics(admin, [topic], { partitions: 1 });
const producer = kafka.producer({
  ...producerConfig,
  transactionalId: `${config.topicPrefix}.coordinator-cache`,
  retry: { initialRetryTime: TRANSACTION_RETRY.initialRetryTimeMs, maxRetryTime: TRANSACTION_RETRY.maxRetryTimeMs },
});
await producer.connect();
console.log(`coordinator-cache bench: ${PER_MODE} transactions per mode in alternating blocks of ${BLOCK}`);

const transactionalId = `${config.topicPrefix}.coordinator-cache`;
/** The runtime's lookups (ADR 0036), as PartitionTransactions has them: registered, one begin per transaction. */
const perTransaction: Lookup = function (args) {
  return coordinatorLookups.lookup(this as object, args, () => counted.call(this, args));
};
coordinatorLookups.register(transactionalId);
const modes = {
  'kafkajs as is': counted,
  'coordinators cached': cached,
  "the runtime's": perTransaction,
} as const;
const samples = new Map<string, number[]>(Object.keys(modes).map((m) => [m, []]));
const lookupsOf = new Map<string, number>();
let offset = 0;
const modeCount = Object.keys(modes).length;
for (let block = 0; block < (modeCount * PER_MODE) / BLOCK; block++) {
  const [mode, lookup] = Object.entries(modes)[block % modeCount]!;
  Cluster.prototype.findGroupCoordinator = lookup;
  cache.clear();
  const before = lookups;
  for (let i = 0; i < BLOCK + WARM; i++) {
    const started = performance.now();
    coordinatorLookups.beginTransaction(transactionalId);
    const txn = await producer.transaction();
    await txn.send({ topic, acks: -1, messages: [{ key: 'k', value: 'v' }] });
    await txn.sendOffsets({
      consumerGroupId: `${config.topicPrefix}.coordinator-cache`,
      topics: [{ topic, partitions: [{ partition: 0, offset: String(++offset) }] }],
    });
    await txn.commit();
    if (i >= WARM) samples.get(mode)!.push(performance.now() - started);
  }
  lookupsOf.set(mode, (lookupsOf.get(mode) ?? 0) + lookups - before);
}
Cluster.prototype.findGroupCoordinator = asIs;
const [base, other, runtime] = [...samples.entries()];
for (const [mode, xs] of samples) {
  const perTxn = lookupsOf.get(mode)! / ((xs.length / BLOCK) * (BLOCK + WARM));
  console.log(
    `${mode.padEnd(20)} transaction p50 ${percentile(xs, 50).toFixed(2)} ms   p99 ${percentile(xs, 99).toFixed(2)} ms   ` +
      `${perTxn.toFixed(1)} coordinator lookups asked per transaction, cached or not (n=${xs.length})`,
  );
}
console.log(
  `cached / as is, p50: ${(percentile(other![1], 50) / percentile(base![1], 50)).toFixed(2)}x ` +
    '(above 1: the cache costs; the next AddPartitionsToTxn meets CONCURRENT_TRANSACTIONS, see ADR 0035)',
);
console.log(
  `the runtime's / as is, p50: ${(percentile(runtime![1], 50) / percentile(base![1], 50)).toFixed(2)}x ` +
    "(the runtime's keeps the lookup before each transaction's first request, ADR 0036)",
);
await producer.disconnect();
await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
await admin.disconnect();
process.exit(0);
