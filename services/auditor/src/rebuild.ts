import { randomBytes } from 'node:crypto';
import { offsetsOf, type RuntimeDeps } from '@warden/runtime';
import { RebuildError } from './errors.js';
import { ProjectorConsumer, Serial } from './projector/consumer.js';
import { Projection } from './projector/projection.js';
import { AuditStore } from './projector/store.js';

/** Options of a rebuild. */
export interface RebuildOptions {
  readonly deps: RuntimeDeps;
  readonly collectionPrefix?: string;
  /** Give up after this long. Default 10 minutes. */
  readonly timeoutMs?: number;
  readonly maxTasksInMemory?: number;
}

/** What a rebuild did. */
export interface RebuildReport {
  readonly events: number;
  readonly tasks: number;
  readonly durationMs: number;
}

/**
 * Drops the projection and rebuilds it from the log: reads every audit topic from the start with a fresh consumer
 * group up to the end offsets seen when it began, then settles every task (all causes up to that point are in).
 * It raises no alerts (they were raised live and are kept). Stop the live auditor first.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<RebuildReport> {
  const started = Date.now();
  const { deps } = options;
  const store = new AuditStore(deps.db, options.collectionPrefix);
  await store.dropProjection();
  const topics = deps.topics.all();
  const admin = deps.kafka.admin();
  await admin.connect();
  const targets = new Map<string, bigint>();
  try {
    for (const topic of topics) {
      for (const p of await offsetsOf(admin, topic)) {
        if (BigInt(p.high) > BigInt(p.low)) targets.set(`${topic}|${p.partition}`, BigInt(p.high));
      }
    }
  } finally {
    await admin.disconnect();
  }
  const projection = new Projection(store, { settleMs: 0, maxTasksInMemory: options.maxTasksInMemory ?? 1_000_000 });
  await projection.init();
  const groupId = `${deps.topics.prefix}.auditor.rebuild.${randomBytes(4).toString('hex')}`;
  let crashed: Error | undefined;
  let events = 0;
  const consumer = new ProjectorConsumer({
    kafka: deps.kafka,
    codec: deps.codec,
    projection,
    topics,
    groupId,
    logger: deps.logger,
    serial: new Serial(),
    onFindings: async () => {},
    onProjected: (inputs) => void (events += inputs.length),
  });
  const done = (): boolean =>
    [...targets].every(([key, high]) => {
      const [topic, partition] = key.split('|') as [string, string];
      return (consumer.position(topic, Number(partition)) ?? 0n) >= high;
    });
  try {
    await consumer.start((e) => void (crashed = e));
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    while (!done()) {
      if (crashed !== undefined)
        throw new RebuildError(`rebuild consumer crashed: ${crashed.message}`, { cause: crashed });
      if (Date.now() > deadline) throw new RebuildError('rebuild did not reach the end of the log in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await consumer.stop();
    const a = deps.kafka.admin();
    await a.connect();
    await a.deleteGroups([groupId]).catch(() => undefined);
    await a.disconnect();
  }
  await projection.settle(true);
  await projection.flush();
  return { events, tasks: await store.tasks.countDocuments(), durationMs: Date.now() - started };
}
