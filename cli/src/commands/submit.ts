/** `warden submit`: a task in, its id out. */
import { randomUUID } from 'node:crypto';
import { newTask, type EventDataInput } from '@warden/contracts';
import { ensureTopics, Publisher, producerConfig, type RuntimeDeps } from '@warden/runtime';
import type { CliConfig } from '../config.js';
import { unavailableError } from '../errors.js';
import { connect } from '../events.js';

/** Options of a submission. */
export interface SubmitOptions {
  readonly tenantId: string;
  readonly taskId?: string;
}

/** Publishes TaskSubmitted drafts with open connections; returns each task id. */
export async function publishTasks(
  deps: RuntimeDeps,
  tasks: ReadonlyArray<{ data: EventDataInput<'TaskSubmitted'>; tenantId: string; taskId: string }>,
): Promise<Array<{ taskId: string; redactions: number }>> {
  const admin = deps.kafka.admin();
  const producer = deps.kafka.producer(producerConfig);
  try {
    await admin.connect();
    await ensureTopics(admin, [deps.topics.of('tasks')]);
    await producer.connect();
    const encoded = await new Publisher(producer, deps.codec, deps.topics).publish(
      ...tasks.map((t) => newTask(t.data, { tenantId: t.tenantId, taskId: t.taskId, producer: 'warden-cli' })),
    );
    return encoded.map((e, i) => ({ taskId: tasks[i]!.taskId, redactions: e.redactions }));
  } catch (error) {
    throw unavailableError(
      `cannot publish to ${deps.topics.of('tasks')} on ${deps.config.brokers.join(',')}: ${(error as Error).message}`,
      'check that Kafka and the schema registry answer: `warden stack status`',
      error,
    );
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}

/** Publishes one task; returns its id. */
export async function submit(
  config: CliConfig,
  data: EventDataInput<'TaskSubmitted'>,
  options: SubmitOptions,
): Promise<{ taskId: string; redactions: number }> {
  const deps = await connect(config.runtime);
  try {
    const [result] = await publishTasks(deps, [
      { data, tenantId: options.tenantId, taskId: options.taskId ?? randomUUID() },
    ]);
    return result!;
  } finally {
    await deps.mongo.close();
  }
}
