/** Runs `warden` as a process against the test run's stack, each test on its own topics, database and subjects. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { testKafkaEnv } from '@warden/runtime/testing';
import { stack, unique } from '../../../test/support/index.js';

/** The warden bin, as npm installs it. */
export const WARDEN_BIN = resolve(import.meta.dirname, '../../bin/warden.js');

/** What a run of `warden` printed and how it ended. */
export interface WardenRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of one test: the stack's endpoints, a fresh prefix, database, subjects and cache dir. */
export function testEnv(name: string): Record<string, string> {
  const endpoints = stack();
  const id = unique(name);
  const env: Record<string, string> = {};
  // Not the run directory of the stack the tests use: this test's warden keeps its state in its own cache dir.
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'WARDEN_STACK_RUN_DIR') env[k] = v;
  return {
    ...env,
    ...testKafkaEnv(endpoints),
    // The stack's users: `warden up` starts each worker as its own Kafka principal (ADR 0019).
    ...(endpoints.kafkaUsersFile === undefined ? {} : { WARDEN_KAFKA_USERS_FILE: endpoints.kafkaUsersFile }),
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    MONGO_URL: endpoints.mongoUrl,
    WARDEN_TOPIC_PREFIX: id,
    MONGO_DB: id.replace(/-/g, '_'),
    WARDEN_SUBJECT_PREFIX: `${id}.`,
    WARDEN_CACHE_DIR: mkdtempSync(join(tmpdir(), 'warden-cli-test-')),
    LOG_LEVEL: 'warn',
    NO_COLOR: '1',
  };
}

/** Runs `warden ARGS` to its end. */
export async function warden(args: readonly string[], env: Record<string, string>): Promise<WardenRun> {
  const child = spawn(process.execPath, [WARDEN_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, stdout, stderr };
}
