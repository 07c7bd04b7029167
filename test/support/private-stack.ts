/**
 * A private local stack for fault tests: Kafka, the registry and FerretDB of their own (their own run directory and
 * ports, the downloads shared with the shared stack), so a test can stop, kill and restart one server without
 * disturbing the stack every other test file uses. It drives `npm run stack` (infra/stack/stack.ts) with
 * WARDEN_STACK_RUN_DIR and the port variables, asynchronously, so workers in the test's own process keep running.
 *
 *   const s = await startPrivateStack({ name: 'outages', ports: { kafka: 39092, ... } });
 *   s.endpoints        // { kafkaBrokers, schemaRegistryUrl, mongoUrl } for workers and clients
 *   await s.stop('mongo', { kill: true });   // SIGKILL FerretDB; its data stays
 *   await s.start('mongo');                  // start it again on its data; resolves once healthy
 *   await s.restart('kafka', { kill: true }); // both at once
 *   await s.down();                          // stop all three (the run directory is kept for its logs)
 *
 * Ports must be free and distinct from every other stack's (the shared one uses the defaults 9092/9093/8081/27017).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { endpointsOfState, type StackEndpoints } from '../../infra/stack/endpoints.js';
import type { ServerId } from '../../infra/stack/paths.js';
import { readState } from '../../infra/stack/state.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const stackScript = resolve(root, 'infra/stack/stack.ts');
/** The longest one stack command may take (a first start may build FerretDB or fetch Kafka). */
const STACK_COMMAND_TIMEOUT_MS = 600_000;

/** Where a private stack listens and keeps its state. */
export interface PrivateStackOptions {
  /** Its run directory: state, data and logs (e.g. /tmp/<name>-stack). */
  readonly runDir: string;
  readonly ports: {
    readonly kafka: number;
    readonly kafkaController: number;
    readonly registry: number;
    readonly mongo: number;
  };
}

/** A running private stack (see startPrivateStack). */
export interface PrivateStack {
  readonly endpoints: StackEndpoints;
  /** Where its logs are: `<runDir>/<server>.log`. */
  readonly runDir: string;
  /** Stops one server, keeping its data: SIGTERM (graceful), or SIGKILL at once with `kill`. */
  stop(server: ServerId, options?: { readonly kill?: boolean }): Promise<void>;
  /** Starts one stopped server again on its data; resolves once it is healthy. */
  start(server: ServerId): Promise<void>;
  /** stop() then start(): one server down and back, on its data. */
  restart(server: ServerId, options?: { readonly kill?: boolean }): Promise<void>;
  /** Stops every server. */
  down(): Promise<void>;
}

/** The environment of a stack command for this stack: its run directory and ports, never another's endpoints. */
function stackEnv(options: PrivateStackOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WARDEN_STACK_RUN_DIR: options.runDir,
    KAFKA_PORT: String(options.ports.kafka),
    KAFKA_CONTROLLER_PORT: String(options.ports.kafkaController),
    SCHEMA_REGISTRY_PORT: String(options.ports.registry),
    MONGO_PORT: String(options.ports.mongo),
  };
  // Set, these would make the stack use (and only check) those servers instead of starting its own.
  delete env.KAFKA_BROKERS;
  delete env.SCHEMA_REGISTRY_URL;
  delete env.MONGO_URL;
  return env;
}

async function stackCommand(options: PrivateStackOptions, ...args: string[]): Promise<void> {
  try {
    await run(process.execPath, ['--import', 'tsx', stackScript, ...args], {
      cwd: root,
      env: stackEnv(options),
      timeout: STACK_COMMAND_TIMEOUT_MS,
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`stack ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, {
      cause: error,
    });
  }
}

/** Starts (or reuses, if it already runs) the private stack and returns its endpoints and controls. */
export async function startPrivateStack(options: PrivateStackOptions): Promise<PrivateStack> {
  await stackCommand(options, 'up');
  const state = readState(resolve(options.runDir, 'stack.json'));
  if (state === undefined) throw new Error(`the private stack in ${options.runDir} recorded no endpoints`);
  return {
    // With the admin's credentials: the private stack's Kafka requires SASL like the shared one (ADR 0019).
    endpoints: endpointsOfState(state),
    runDir: options.runDir,
    stop: (server, stopOptions) =>
      stackCommand(options, 'stop', server, ...(stopOptions?.kill === true ? ['--kill'] : [])),
    start: (server) => stackCommand(options, 'start', server),
    restart: async (server, stopOptions) => {
      await stackCommand(options, 'stop', server, ...(stopOptions?.kill === true ? ['--kill'] : []));
      await stackCommand(options, 'start', server);
    },
    down: () => stackCommand(options, 'down'),
  };
}
