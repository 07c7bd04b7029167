/**
 * `warden show` and `warden verify`: read the topics directly (no auditor needed) and check each task's hash chain
 * with the contracts' verifyChain, the same verifier the auditor runs.
 */
import {
  PRODUCER_SIGNATURE_HEADER,
  producerBreak,
  verifyChain,
  type ChainBreak,
  type ChainVerdict,
  type DecodedEvent,
  type ProducerKey,
  type WardenEvent,
} from '@warden/contracts';
import type { CliConfig } from '../config.js';
import { CliError, CliErrorCodes, ExitCodes } from '../errors.js';
import { connect, existingTopics, read } from '../events.js';
import { eventLine, paint } from '../format.js';
import { say } from './io.js';

/** Every decoded event of the prefix, by task, and the count of messages that could not be decoded. */
export async function readTasks(
  config: CliConfig,
  onProgress?: (read: number) => void,
): Promise<{
  tasks: Map<string, DecodedEvent[]>;
  undecodable: number;
  problems: string[];
  /** Each event's producer signature header by the event's hash (undefined: the message carried none). */
  signatures: Map<string, string | undefined>;
}> {
  const deps = await connect(config.runtime);
  const tasks = new Map<string, DecodedEvent[]>();
  const signatures = new Map<string, string | undefined>();
  let undecodable = 0;
  const problems: string[] = [];
  let count = 0;
  try {
    const topics = (await existingTopics(deps)).filter((t) => t !== deps.topics.of('dlq'));
    if (topics.length === 0) {
      throw new CliError(CliErrorCodes.notFound, `no Warden topics under the prefix "${config.runtime.topicPrefix}"`, {
        hint: 'start the workers with `warden up` and submit a task, or pick the prefix with --prefix / WARDEN_TOPIC_PREFIX',
      });
    }
    await read(deps, topics, {
      follow: false,
      onMessage: (m) => {
        count++;
        if (count % 100 === 0) onProgress?.(count);
        if (m.decoded === undefined) {
          undecodable++;
          if (problems.length < 10) problems.push(`${m.topic}/${m.partition}@${m.offset}: ${m.error ?? 'not decoded'}`);
          return;
        }
        const id = m.decoded.event.taskId;
        signatures.set(m.decoded.hash, m.message.headers?.[PRODUCER_SIGNATURE_HEADER]?.toString());
        const list = tasks.get(id) ?? [];
        list.push(m.decoded);
        tasks.set(id, list);
      },
    });
    onProgress?.(count);
  } finally {
    await deps.mongo.close();
  }
  return { tasks, undecodable, problems, signatures };
}

/**
 * A task's chain verdict with its producers checked too (ADR 0018): every event must carry the signature of a
 * producer allowed to emit its type, else an `unverified_producer` break. With no producer keys, the chain alone.
 */
export function verifyTask(
  taskId: string,
  events: readonly DecodedEvent[],
  signatures: ReadonlyMap<string, string | undefined>,
  keys: ReadonlyMap<string, ProducerKey> | undefined,
): ChainVerdict {
  const chain = verifyChain(
    events.map((d) => d.envelope),
    taskId,
  );
  if (keys === undefined || keys.size === 0) return chain;
  const forged: ChainBreak[] = [];
  for (const d of events) {
    if (d.event.type === 'DeadLettered') continue;
    const b = producerBreak(d.envelope, d.hash, signatures.get(d.hash), keys);
    if (b !== undefined) forged.push(b);
  }
  if (forged.length === 0) return chain;
  const breaks = [...(chain.ok ? [] : chain.breaks), ...forged].sort((a, b) => a.seq - b.seq);
  return { ok: false, taskId, firstBreak: breaks[0]!, breaks };
}

const bySeq = (a: WardenEvent, b: WardenEvent): number => a.seq - b.seq;

/** `warden show TASK`: the task's timeline and its chain verdict. */
export async function show(config: CliConfig, taskId: string, json: boolean): Promise<number> {
  const { tasks, signatures } = await readTasks(config);
  const events = tasks.get(taskId);
  if (events === undefined) {
    throw new CliError(
      CliErrorCodes.notFound,
      `no events of task ${taskId} under prefix "${config.runtime.topicPrefix}"`,
      {
        hint: 'check the id `warden submit` printed, and the prefix (--prefix)',
        exitCode: ExitCodes.failed,
      },
    );
  }
  const sorted = events.map((d) => d.event).sort(bySeq);
  const verdict = verifyTask(taskId, events, signatures, config.runtime.producerKeys);
  if (json) {
    say(JSON.stringify({ taskId, events: sorted, chain: verdict }));
  } else {
    say(`task ${taskId} (tenant ${sorted[0]?.tenantId ?? '?'}), ${sorted.length} events`);
    for (const e of sorted) say(`  ${eventLine(e, config.color, false)}`);
    say(chainLine(verdict, config.color));
  }
  return verdict.ok ? ExitCodes.ok : ExitCodes.failed;
}

/** One line saying whether a chain holds, and where it breaks. */
export function chainLine(verdict: ChainVerdict, colour: boolean): string {
  return verdict.ok
    ? `chain ${paint(colour, 'green', 'ok')}: ${verdict.count} events, head seq ${verdict.head?.seq ?? '-'}`
    : `chain ${paint(colour, 'red', 'BROKEN')} at seq ${verdict.firstBreak.seq} (${verdict.firstBreak.kind}): ${verdict.firstBreak.detail}`;
}

function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/** `warden verify [TASK]`: one task's chain, or every task's; exit 1 on any break. */
export async function verify(config: CliConfig, taskId: string | undefined, json: boolean): Promise<number> {
  const tty = process.stderr.isTTY && !json;
  const { tasks, undecodable, problems, signatures } = await readTasks(
    config,
    tty ? (n) => void process.stderr.write(`\rreading the log: ${n} events`) : undefined,
  );
  if (tty) process.stderr.write('\n');
  const ids = taskId === undefined ? [...tasks.keys()].sort() : [taskId];
  if (taskId !== undefined && !tasks.has(taskId)) {
    throw new CliError(
      CliErrorCodes.notFound,
      `no events of task ${taskId} under prefix "${config.runtime.topicPrefix}"`,
      {
        hint: 'check the task id and the prefix (--prefix)',
      },
    );
  }
  const results: ChainVerdict[] = [];
  ids.forEach((id, i) => {
    results.push(verifyTask(id, tasks.get(id) ?? [], signatures, config.runtime.producerKeys));
    if (tty) process.stderr.write(`\rverifying ${progressBar(i + 1, ids.length)}`);
  });
  if (tty) process.stderr.write('\n');
  const broken = results.filter((r) => !r.ok);
  if (json) {
    say(JSON.stringify({ tasks: results.length, broken: broken.length, undecodable, problems, results }));
  } else {
    for (const r of broken) say(`${r.taskId}: ${chainLine(r, config.color)}`);
    if (taskId !== undefined && broken.length === 0) say(`${taskId}: ${chainLine(results[0]!, config.color)}`);
    say(
      `${results.length} task(s) verified: ${results.length - broken.length} ok, ${broken.length} broken` +
        (undecodable > 0 ? `; ${undecodable} message(s) could not be decoded (the workers dead-letter them):` : ''),
    );
    for (const p of problems) say(`  ${p}`);
  }
  return broken.length === 0 ? ExitCodes.ok : ExitCodes.failed;
}
