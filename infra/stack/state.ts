// <cache>/run/stack.json: the endpoints of a healthy stack, written by `up`, removed by `down`.
import fs from 'node:fs';

import type { ServerId } from './paths.js';
import { removeFile, writeFileAtomic } from './proc.js';

/** SASL credentials of a Kafka client. */
export interface KafkaSasl {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

export interface StackEndpoints {
  readonly kafkaBrokers: string;
  readonly schemaRegistryUrl: string;
  readonly mongoUrl: string;
  /** The credentials of the stack's Kafka super user (admin), when Kafka requires authentication (ADR 0019). */
  readonly kafkaSasl?: KafkaSasl;
  /** The stack's users file (a password per worker principal), when the stack made its Kafka's users. */
  readonly kafkaUsersFile?: string;
}

export interface StackState {
  readonly kafkaBrokers: string;
  readonly schemaRegistryUrl: string;
  readonly mongoUrl: string;
  /**
   * The users file of the stack's Kafka (SCRAM-SHA-512, one principal per worker, ADR 0019): passwords stay in that
   * 0600 file, never in stack.json.
   */
  readonly kafkaUsersFile?: string;
  readonly startedAt: string;
  /** PIDs of the servers this stack started; servers given through the environment have none. */
  readonly pids: Partial<Record<ServerId, number>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseState(value: unknown): StackState | undefined {
  if (!isRecord(value)) return undefined;
  const { kafkaBrokers, schemaRegistryUrl, mongoUrl, kafkaUsersFile, startedAt, pids } = value;
  if (
    typeof kafkaBrokers !== 'string' ||
    typeof schemaRegistryUrl !== 'string' ||
    typeof mongoUrl !== 'string' ||
    typeof startedAt !== 'string'
  ) {
    return undefined;
  }
  const parsedPids: Partial<Record<ServerId, number>> = {};
  if (isRecord(pids)) {
    for (const id of ['kafka', 'registry', 'mongo'] as const) {
      const pid = pids[id];
      if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0) parsedPids[id] = pid;
    }
  }
  return {
    kafkaBrokers,
    schemaRegistryUrl,
    mongoUrl,
    ...(typeof kafkaUsersFile === 'string' ? { kafkaUsersFile } : {}),
    startedAt,
    pids: parsedPids,
  };
}

/** The recorded state, or undefined if the file is missing or malformed. */
export function readState(file: string): StackState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parseState(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export function writeState(file: string, state: StackState): void {
  writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}

export function removeState(file: string): void {
  removeFile(file);
}
