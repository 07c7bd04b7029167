import { Kafka, logLevel, type Admin, type LogEntry, type ITopicConfig } from 'kafkajs';
import type { Logger } from 'pino';
import { auditTopicConfig } from './topics.js';

const CONCURRENT_TRANSACTIONS = 'another concurrent operation on the same transaction';

/** A kafkajs client whose logs go to pino. */
export function createKafka(brokers: readonly string[], clientId: string, logger: Logger): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 100, retries: 8 },
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        // The coordinator's "concurrent transactions" answer right after a commit is expected and retried.
        if (typeof rest.error === 'string' && rest.error.includes(CONCURRENT_TRANSACTIONS)) log.debug(rest, message);
        else if (level === logLevel.ERROR) log.error(rest, message);
        else if (level === logLevel.WARN) log.warn(rest, message);
        else log.debug(rest, message);
      },
  });
}

/** Options of ensureTopics. */
export interface EnsureTopicsOptions {
  readonly partitions?: number;
  readonly replicationFactor?: number;
  /** Extra configs; audit settings (keep forever, no compaction) are the default. */
  readonly configs?: Readonly<Record<string, string>>;
}

/** Creates the topics that do not exist yet and waits until their leaders are known. */
export async function ensureTopics(
  admin: Admin,
  topics: readonly string[],
  options: EnsureTopicsOptions = {},
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const configs = { ...auditTopicConfig, ...options.configs };
  const missing: ITopicConfig[] = topics
    .filter((t) => !existing.has(t))
    .map((topic) => ({
      topic,
      numPartitions: options.partitions ?? 3,
      replicationFactor: options.replicationFactor ?? 1,
      configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
}
