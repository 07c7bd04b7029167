/**
 * A private local stack for tests that stop and restart servers: the same infra/stack scripts on their own ports and
 * run directory (WARDEN_STACK_RUN_DIR), sharing the downloads. Never the shared stack on the default ports.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestEndpoints } from '@warden/runtime/testing';
import { endpointsOfState } from '../../infra/stack/endpoints.js';
import { stopProcessGroup } from '../../infra/stack/proc.js';
import { readState, type StackState } from '../../infra/stack/state.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The ports and run directory of a private stack. */
export interface PrivateStackOptions {
  readonly runDir: string;
  readonly kafkaPort: number;
  readonly kafkaControllerPort: number;
  readonly registryPort: number;
  readonly mongoPort: number;
}

/** The servers of a stack that can be restarted one at a time. */
export type StackServer = 'kafka' | 'registry' | 'mongo';

/** How long a server may take to exit on SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 60_000;

/** A private stack: its endpoints, and the servers' restart and the stack's stop. */
export interface PrivateStack {
  readonly endpoints: TestEndpoints;
  /** Stops one server (SIGTERM, then SIGKILL) and starts it again on the same data; resolves once it is healthy. */
  restart(server: StackServer): Promise<void>;
  /** Stops every server of the stack. */
  down(): Promise<void>;
}

function stackEnv(o: PrivateStackOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WARDEN_STACK_RUN_DIR: o.runDir,
    KAFKA_PORT: String(o.kafkaPort),
    KAFKA_CONTROLLER_PORT: String(o.kafkaControllerPort),
    SCHEMA_REGISTRY_PORT: String(o.registryPort),
    MONGO_PORT: String(o.mongoPort),
  };
  // Endpoints in the environment would make the stack check them instead of starting its own servers.
  delete env.KAFKA_BROKERS;
  delete env.SCHEMA_REGISTRY_URL;
  delete env.MONGO_URL;
  return env;
}

/** Runs `npm run stack -- <command>` for the private stack; rejects with its output's end unless it exits 0. */
async function stackCommand(o: PrivateStackOptions, command: 'up' | 'down'): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--conditions=@warden/source', '--import', 'tsx', join('infra', 'stack', 'stack.ts'), command],
    { cwd: REPO_ROOT, env: stackEnv(o), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0)
    throw new Error(`stack ${command} exited ${code}:\n${output.trimEnd().split('\n').slice(-25).join('\n')}`);
}

const stateOf = (o: PrivateStackOptions): StackState => {
  const state = readState(join(o.runDir, 'stack.json'));
  if (state === undefined) throw new Error(`the private stack in ${o.runDir} recorded no endpoints`);
  return state;
};

/** Starts (or finds running) a private stack and returns it. */
export async function startPrivateStack(o: PrivateStackOptions): Promise<PrivateStack> {
  await stackCommand(o, 'up');
  const state = stateOf(o);
  return {
    // With the admin's credentials: the private stack's Kafka requires SASL like the shared one (ADR 0019).
    endpoints: endpointsOfState(state),
    restart: async (server) => {
      const pid = stateOf(o).pids[server];
      if (pid !== undefined) await stopProcessGroup(pid, STOP_TIMEOUT_MS);
      await stackCommand(o, 'up');
    },
    down: () => stackCommand(o, 'down'),
  };
}
