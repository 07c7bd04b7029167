/** `warden tail [TASK]`: every event as it happens, one line each (or one JSON object a line with --json). */
import { terminalEventTypes } from '@warden/contracts';
import type { CliConfig } from '../config.js';
import { CliError, CliErrorCodes, ExitCodes } from '../errors.js';
import { connect, existingTopics, read, type ReadMessage } from '../events.js';
import { eventLine, paint } from '../format.js';
import { say } from './io.js';

/** Options of tail. */
export interface TailOptions {
  readonly taskId?: string;
  readonly json: boolean;
  /** Only what happens from now on (default: the whole log so far, then live). */
  readonly fromNow: boolean;
  /** With a task: stop once the task ends (TaskCompleted, TaskFailed, TaskHalted). */
  readonly untilEnd: boolean;
}

function render(m: ReadMessage, config: CliConfig, json: boolean): string {
  if (m.decoded === undefined) {
    return json
      ? JSON.stringify({ topic: m.topic, partition: m.partition, offset: m.offset, error: m.error })
      : paint(config.color, 'red', `undecodable message ${m.topic}/${m.partition}@${m.offset}: ${m.error ?? ''}`);
  }
  const e = m.decoded.event;
  if (json) return JSON.stringify({ topic: m.topic, hash: m.decoded.hash, ...e });
  if (e.type === 'DeadLettered') {
    return `${eventLine(e, config.color)} ${e.data.errorCode}: ${e.data.errorMessage.slice(0, 160)} (from ${e.data.originalTopic})`;
  }
  return eventLine(e, config.color);
}

/** Follows the topics until SIGINT/SIGTERM (or the task's end with untilEnd). */
export async function tail(config: CliConfig, options: TailOptions): Promise<number> {
  const deps = await connect(config.runtime);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const topics = await existingTopics(deps);
    if (topics.length === 0) {
      throw new CliError(CliErrorCodes.notFound, `no Warden topics under the prefix "${config.runtime.topicPrefix}"`, {
        hint: 'start the workers with `warden up`, or pick the prefix with --prefix / WARDEN_TOPIC_PREFIX',
        exitCode: ExitCodes.failed,
      });
    }
    await read(deps, topics, {
      follow: true,
      fromEnd: options.fromNow,
      signal: stop.signal,
      onReady: () => {
        if (!options.json)
          process.stderr.write(
            `following ${topics.length} topics of "${config.runtime.topicPrefix}" (Ctrl-C to stop)\n`,
          );
      },
      onMessage: (m) => {
        const e = m.decoded?.event;
        if (options.taskId !== undefined && e?.taskId !== options.taskId) return;
        say(render(m, config, options.json));
        if (options.untilEnd && e !== undefined && terminalEventTypes.has(e.type)) {
          stop.abort();
        }
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await deps.mongo.close();
  }
  return ExitCodes.ok;
}
