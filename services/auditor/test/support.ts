import {
  follow,
  newTask,
  type EncodedEvent,
  type EventCodec,
  type EventDataInput,
  type EventType,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import {
  connectRuntime,
  producerConfig,
  sendAll,
  toOutgoing,
  type RuntimeDeps,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import type { Producer } from 'kafkajs';
import { pino } from 'pino';
import type { AuditorConfig } from '../src/index.js';

export const KEY_A = 'tenant-a-key-0123456789';
export const KEY_B = 'tenant-b-key-0123456789';
export const CHECKPOINT_KEY = 'checkpoint-key-0123456789abcdef0123456789';

/** An auditor configuration for a test: the test's runtime config, two tenants, manual ticks. */
export function auditorTestConfig(runtime: WorkerRuntimeConfig, over: Partial<AuditorConfig> = {}): AuditorConfig {
  return {
    runtime,
    apiKeys: [
      { tenantId: 'tenant-a', key: KEY_A },
      { tenantId: 'tenant-b', key: KEY_B },
    ],
    apiPort: 0,
    apiHost: '127.0.0.1',
    checkpointKey: CHECKPOINT_KEY,
    checkpointIntervalMs: 3_600_000,
    settleMs: 100,
    maxTasksInMemory: 1_000,
    ...over,
  };
}

/** A step of a chain: an event type and its data. */
export type Step = { [T in EventType]: [T, EventDataInput<T>] }[EventType];

const usage = { promptTokens: 100, completionTokens: 20, totalTokens: 120 };
const totals = { steps: 2, usage, costUsd: 0.003 };

/** A whole task: prompt, response, proposal, verdict, tool result, answer, approval, completion. */
export function fullTaskSteps(tool = 'customers.query'): Step[] {
  const hash = 'a'.repeat(64);
  const verdict = {
    proposalEventId: '00000000-0000-4000-8000-000000000000',
    proposalKind: 'action' as const,
    actionId: 'a1',
    rulesEvaluated: [],
    ruleFired: 'allow-read',
    reasonCode: 'allowed',
    policyVersion: 'v1',
    inputHashes: { proposal: hash, state: hash, policy: hash },
  };
  return [
    [
      'ModelCalled',
      {
        callId: 'c1',
        model: 'm',
        messages: [{ role: 'user', content: 'refund 1001' }],
        toolsOffered: [tool],
        maxTokens: 100,
        promptTokens: 100,
        reservedTokens: 200,
        reservedCostUsd: 0.01,
      },
    ],
    [
      'ModelResponded',
      {
        callId: 'c1',
        model: 'm',
        content: '{}',
        reasoning: 'look the order up',
        toolCalls: [],
        finishReason: 'tool_calls',
        usage,
        costUsd: 0.0015,
        durationMs: 5,
        attempts: 1,
        logprobConfidence: null,
      },
    ],
    [
      'ActionProposed',
      {
        actionId: 'a1',
        step: 1,
        tool,
        args: { id: '1001' },
        argsHash: hash,
        reasoning: 'need it',
        confidence: { value: 0.9, source: 'structured' },
        claims: [],
      },
    ],
    ['ActionApproved', { ...verdict, tool, args: { id: '1001' }, argsHash: hash }],
    ['ToolSucceeded', { actionId: 'a1', tool, effectKey: 't:a1', result: { rows: 1 }, durationMs: 3 }],
    [
      'ModelResponded',
      {
        callId: 'c2',
        model: 'm',
        content: 'done',
        reasoning: 'all good',
        toolCalls: [],
        finishReason: 'stop',
        usage,
        costUsd: 0.0015,
        durationMs: 5,
        attempts: 1,
        logprobConfidence: null,
      },
    ],
    ['TaskCompleted', { answer: 'refunded', output: { refunded: true }, totals }],
  ];
}

/** Encodes a task's chain: TaskSubmitted, then each step chained to the one before. */
export async function encodeChain(
  codec: EventCodec,
  taskId: string,
  tenantId: string,
  steps: readonly Step[],
): Promise<EncodedEvent[]> {
  const out = [await codec.encode(newTask(sampleTask(), { taskId, tenantId, producer: 'test' }))];
  for (const [type, data] of steps) {
    const prev = out.at(-1)!;
    out.push(
      await codec.encode(
        follow({ envelope: prev.envelope, hash: prev.hash }, type, data as never, { producer: 'test' }),
      ),
    );
  }
  return out;
}

/** A producer and codec on a test's topics. */
export interface TestWire {
  readonly deps: RuntimeDeps;
  readonly producer: Producer;
  send(events: readonly EncodedEvent[]): Promise<void>;
  close(): Promise<void>;
}

export async function startWire(config: WorkerRuntimeConfig): Promise<TestWire> {
  const deps = await connectRuntime('auditor-test-wire', config, pino({ level: 'error' }));
  await deps.codec.registerAll(); // once, before encoding in parallel
  const producer = deps.kafka.producer(producerConfig);
  await producer.connect();
  return {
    deps,
    producer,
    send: async (events) => {
      for (let i = 0; i < events.length; i += 500) {
        await sendAll(
          producer,
          events.slice(i, i + 500).map((e) => toOutgoing(e, deps.topics)),
        );
      }
    },
    close: async () => {
      await producer.disconnect();
      await deps.mongo.close();
    },
  };
}
