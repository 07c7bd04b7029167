// Local stack without Docker: Kafka, a Confluent-compatible schema registry and a MongoDB-compatible
// server, fetched and cached under WARDEN_CACHE_DIR (default ~/.cache/warden) and run as detached
// processes. Usage: npm run stack -- up [--fresh] | down | status | stop <server> [--kill] | start <server>
import fs from 'node:fs';

import { kafkaUsersFileIn } from '@warden/runtime';

import type { StackConfig } from './config.js';
import { ConfigError, loadConfig } from './config.js';
import { ensureDecisionKeys, ensureGuardKeys, ensureProducerKeys } from './decision-keys.js';
import { kafkaServer } from './kafka.js';
import { withLock } from './lock.js';
import { mongoServer } from './mongo.js';
import type { ServerId, StackPaths } from './paths.js';
import { logFile, pidFile, SERVER_IDS, stackPaths } from './paths.js';
import type { DetachedChild } from './proc.js';
import {
  AbortedError,
  bindProbe,
  canConnect,
  CommandError,
  describeListener,
  elapsed,
  isAlive,
  lastLines,
  processHasArg,
  readPid,
  removeFile,
  spawnDetached,
  stopProcessGroup,
  tailFile,
  waitFor,
  writeFileAtomic,
} from './proc.js';
import { registryServer } from './registry.js';
import type { ServerDefinition } from './server.js';
import type { StackState } from './state.js';
import { readState, removeState, writeState } from './state.js';

const USAGE = `usage: npm run stack -- <command>   (or: npx tsx infra/stack/stack.ts <command>)

commands:
  up [--fresh]  fetch (first run only), start and wait for Kafka, the schema registry and FerretDB;
                --fresh wipes their data first (the stack must be down)
  down          stop the servers that up started
  status        print each server's state; exit 0 only if all are healthy
  stop <server> [--kill]
                stop one server (kafka, registry or mongo) and keep its data, for fault tests;
                --kill sends SIGKILL at once instead of a graceful SIGTERM
  start <server>
                start one server again on its data (as up does for it) and wait until it is healthy

environment:
  WARDEN_CACHE_DIR       downloads, builds and run state (default ~/.cache/warden)
  KAFKA_PORT             default 9092; KAFKA_CONTROLLER_PORT default 9093
  KAFKA_HEAP_MB          the broker's Java heap in MiB (default 1024)
  SCHEMA_REGISTRY_PORT   default 8081
  MONGO_PORT             default 27017
  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGO_URL
                         use that server instead of starting one (up only checks it)
  KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD
                         credentials for an external KAFKA_BROKERS (the local Kafka uses SCRAM-SHA-512
                         users kept in $WARDEN_CACHE_DIR/keys/kafka-users.json, ADR 0019)
  WARDEN_TOPIC_PREFIX    the topic prefix whose per-worker ACLs up grants (default warden)
  WARDEN_STACK_TIMEOUT   seconds each server may take to become healthy (default 120)
  WARDEN_STACK_STOP_TIMEOUT  seconds before SIGKILL on down (default 30)
  JAVA_HOME or WARDEN_JAVA, WARDEN_MVN, WARDEN_GO   the tools to use
`;

const ENDPOINT_KEY: Record<ServerId, 'kafkaBrokers' | 'schemaRegistryUrl' | 'mongoUrl'> = {
  kafka: 'kafkaBrokers',
  registry: 'schemaRegistryUrl',
  mongo: 'mongoUrl',
};

const PORT_ENV: Record<ServerId, string> = {
  kafka: 'KAFKA_PORT / KAFKA_CONTROLLER_PORT',
  registry: 'SCHEMA_REGISTRY_PORT',
  mongo: 'MONGO_PORT',
};

const ENDPOINT_ENV: Record<ServerId, string> = {
  kafka: 'KAFKA_BROKERS',
  registry: 'SCHEMA_REGISTRY_URL',
  mongo: 'MONGO_URL',
};

const LOG_LINES = 40;
const CHECK_TIMEOUT_MS = 5000;

interface Stack {
  readonly config: StackConfig;
  readonly paths: StackPaths;
  readonly servers: readonly ServerDefinition[];
}

function say(id: ServerId | 'stack', message: string): void {
  console.log(`${id}: ${message}`);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The PID of this server's process if it is alive and really ours (by its command line). */
function runningPid(stack: Stack, server: ServerDefinition, state: StackState | undefined): number | undefined {
  const candidates = [readPid(pidFile(stack.paths, server.id)), state?.pids[server.id]];
  return candidates.find(
    (pid): pid is number => pid !== undefined && isAlive(pid) && processHasArg(pid, server.marker),
  );
}

async function checkOnce(server: ServerDefinition, endpoint: string): Promise<string | undefined> {
  try {
    await server.checkHealth(endpoint, CHECK_TIMEOUT_MS);
    return undefined;
  } catch (error) {
    return errorMessage(error);
  }
}

type Plan =
  | { readonly kind: 'external'; readonly server: ServerDefinition }
  | { readonly kind: 'running'; readonly server: ServerDefinition; readonly pid: number }
  | { readonly kind: 'start'; readonly server: ServerDefinition };

async function portProblems(server: ServerDefinition): Promise<string[]> {
  const problems: string[] = [];
  for (const port of server.ports) {
    const bindError = await bindProbe('127.0.0.1', port);
    const busy = bindError !== undefined || (await canConnect('127.0.0.1', port, 1000));
    if (!busy) continue;
    const owner = describeListener(port);
    problems.push(
      `port ${port} on 127.0.0.1 is already in use${bindError !== undefined ? ` (${bindError})` : ''}` +
        ` by a process this stack did not start${owner !== undefined ? `:\n    ${owner}` : ''}\n` +
        `  stop it, choose another port with ${PORT_ENV[server.id]}, or use it by setting ${ENDPOINT_ENV[server.id]}`,
    );
  }
  return problems;
}

/**
 * Starts the stack's servers, or with `only` that one server (the others are left as they are, and recorded if they
 * run), and waits until they are healthy.
 */
async function up(stack: Stack, fresh: boolean, only?: ServerId): Promise<number> {
  const started0 = Date.now();
  const { config, paths } = stack;
  fs.mkdirSync(paths.runDir, { recursive: true });
  ensureDecisionKeys(paths.cacheDir);
  ensureGuardKeys(paths.cacheDir);
  ensureProducerKeys(paths.cacheDir);
  const state = readState(paths.stateFile);

  const every: Plan[] = stack.servers.map((server) => {
    if (server.external !== undefined) return { kind: 'external', server };
    const pid = runningPid(stack, server, state);
    return pid !== undefined ? { kind: 'running', server, pid } : { kind: 'start', server };
  });
  // With `only`, the other servers are neither started nor checked; those running keep their place in the state.
  const plans = only === undefined ? every : every.filter((plan) => plan.server.id === only);
  const others = every.filter((plan) => !plans.includes(plan) && plan.kind === 'running');

  const running = plans.filter((plan) => plan.kind === 'running');
  if (fresh && running.length > 0) {
    say('stack', `--fresh wipes data, but ${running.map((p) => p.server.id).join(', ')} still run(s): run down first`);
    return 1;
  }
  for (const plan of running) {
    const stale = plan.server.staleReason?.();
    if (stale !== undefined) {
      say(
        plan.server.id,
        `already running (pid ${plan.pid}), but ${stale}: run \`npm run stack -- down\` and \`up\` again, ` +
          'which reformats it',
      );
      return 1;
    }
    const recorded = state?.[ENDPOINT_KEY[plan.server.id]];
    if (recorded !== undefined && recorded !== plan.server.endpoint) {
      say(
        plan.server.id,
        `already running at ${recorded} (pid ${plan.pid}), not at ${plan.server.endpoint}: run down first`,
      );
      return 1;
    }
  }

  // Fast path: everything already up.
  if (plans.every((plan) => plan.kind !== 'start')) {
    const problems = await Promise.all(plans.map((plan) => checkOnce(plan.server, plan.server.endpoint)));
    if (problems.every((problem) => problem === undefined)) {
      recordState(stack, [...plans, ...others], state?.startedAt, state);
      say('stack', `already running and healthy (${elapsed(started0)})`);
      printEndpoints(stack);
      return 0;
    }
  }

  const toStart = plans.filter((plan) => plan.kind === 'start');
  for (const plan of toStart) removeFile(pidFile(paths, plan.server.id)); // stale: its process is gone
  const problems = (
    await Promise.all(
      toStart.map(async (plan) => (await portProblems(plan.server)).map((problem) => `${plan.server.id}: ${problem}`)),
    )
  ).flat();
  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    return 1;
  }

  const abort = new AbortController();
  const onSignal = (): void => {
    console.error('\ninterrupted: stopping what this run started...');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = new Map<ServerId, DetachedChild>();
  const failures = new Map<ServerId, unknown>();

  const bringUp = async (plan: Plan): Promise<void> => {
    const { server } = plan;
    const progress = (message: string): void => say(server.id, message);
    const t0 = Date.now();
    const wait = (died: () => string | undefined): Promise<void> =>
      waitFor(() => server.checkHealth(server.endpoint, CHECK_TIMEOUT_MS), {
        timeoutMs: config.startTimeoutMs,
        signal: abort.signal,
        died,
      });
    try {
      switch (plan.kind) {
        case 'external':
          progress(`using ${server.endpoint} from the environment; checking it...`);
          await wait(() => undefined);
          progress(`external ${server.endpoint} is healthy (${elapsed(t0)})`);
          return;
        case 'running':
          progress(`already running (pid ${plan.pid}); checking health...`);
          await wait(() => (isAlive(plan.pid) ? undefined : 'exited'));
          await server.configure?.(server.endpoint, progress);
          progress(`ready on ${server.endpoint} (already running, pid ${plan.pid})`);
          return;
        case 'start': {
          if (!server.isInstalled()) {
            await server.install(progress, abort.signal);
            progress(`installed in ${elapsed(t0)}`);
          }
          if (abort.signal.aborted) throw new AbortedError('aborted');
          await server.prepare(fresh, progress);
          if (abort.signal.aborted) throw new AbortedError('aborted');
          const t1 = Date.now();
          const child = await spawnDetached(server.command(), logFile(stack.paths, server.id));
          started.set(server.id, child);
          writeFileAtomic(pidFile(stack.paths, server.id), `${child.pid}\n`);
          progress(`started ${server.label} (pid ${child.pid}), waiting for it to be healthy...`);
          await wait(() => child.exit ?? (isAlive(child.pid) ? undefined : 'exited'));
          await server.configure?.(server.endpoint, progress);
          progress(`ready on ${server.endpoint} in ${elapsed(t1)}`);
          return;
        }
      }
    } catch (error) {
      if (!(error instanceof AbortedError)) failures.set(server.id, error);
      abort.abort(); // the others stop waiting: the stack is not coming up
      throw error;
    }
  };

  await Promise.allSettled(plans.map(bringUp));
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  if (!abort.signal.aborted) {
    recordState(stack, [...plans, ...others], only === undefined ? undefined : state?.startedAt, state, started);
    say('stack', `ready in ${elapsed(started0)}`);
    printEndpoints(stack);
    return 0;
  }

  for (const [id, error] of failures) {
    const server = stack.servers.find((s) => s.id === id);
    console.error(`\n${id}: FAILED${server !== undefined ? ` (${server.label})` : ''}: ${errorMessage(error)}`);
    if (error instanceof CommandError && error.output.trim() !== '') {
      console.error(`--- last ${LOG_LINES} lines of its output ---\n${lastLines(error.output, LOG_LINES)}`);
    } else if (started.has(id)) {
      const log = logFile(stack.paths, id);
      console.error(`--- last ${LOG_LINES} lines of ${log} ---\n${tailFile(log, LOG_LINES)}`);
    }
    const known = server === undefined ? undefined : diagnosis(stack, server);
    if (known !== undefined) console.error(`\n${id}: ${known}`);
  }
  if (only === undefined) removeState(stack.paths.stateFile);
  else recordState(stack, others, state?.startedAt, state); // the servers still running stay usable
  if (started.size > 0) {
    console.error(`\nstopping what this run started: ${[...started.keys()].join(', ')}`);
    await Promise.all(
      [...started].map(async ([id, child]) => {
        await stopProcessGroup(child.pid, config.stopTimeoutMs).catch((error: unknown) => {
          console.error(`${id}: ${errorMessage(error)}`);
        });
        removeFile(pidFile(stack.paths, id));
      }),
    );
  }
  console.error(`stack: up failed after ${elapsed(started0)}`);
  return 1;
}

/** Lines of a server's log searched for a failure it knows (see ServerDefinition.diagnose). */
const DIAGNOSE_LINES = 400;

/** What the server's log says went wrong, with the cure, if the server knows the failure. */
function diagnosis(stack: Stack, server: ServerDefinition): string | undefined {
  return server.diagnose?.(tailFile(logFile(stack.paths, server.id), DIAGNOSE_LINES));
}

function endpointsOf(stack: Stack): Omit<StackState, 'startedAt' | 'pids'> {
  const endpoint = (id: ServerId): string => stack.servers.find((s) => s.id === id)?.endpoint ?? '';
  return {
    kafkaBrokers: endpoint('kafka'),
    schemaRegistryUrl: endpoint('registry'),
    mongoUrl: endpoint('mongo'),
    // The local Kafka requires SASL (ADR 0019): clients find the users file through stack.json.
    ...(stack.config.kafka.external === undefined ? { kafkaUsersFile: kafkaUsersFileIn(stack.paths.cacheDir) } : {}),
  };
}

function recordState(
  stack: Stack,
  plans: readonly Plan[],
  startedAt: string | undefined,
  previous: StackState | undefined,
  started: ReadonlyMap<ServerId, DetachedChild> = new Map(),
): void {
  const pids: Partial<Record<ServerId, number>> = {};
  for (const plan of plans) {
    const pid = plan.kind === 'running' ? plan.pid : started.get(plan.server.id)?.pid;
    if (pid !== undefined) pids[plan.server.id] = pid;
  }
  const endpoints = endpointsOf(stack);
  // `up` with KAFKA_BROKERS naming this stack's own Kafka (e.g. a test's child process) keeps its users file.
  const usersFile =
    endpoints.kafkaUsersFile ??
    (previous?.kafkaBrokers === endpoints.kafkaBrokers ? previous.kafkaUsersFile : undefined);
  writeState(stack.paths.stateFile, {
    ...endpoints,
    ...(usersFile === undefined ? {} : { kafkaUsersFile: usersFile }),
    startedAt: startedAt ?? new Date().toISOString(),
    pids,
  });
}

function printEndpoints(stack: Stack): void {
  const endpoints = endpointsOf(stack);
  console.log(`  KAFKA_BROKERS=${endpoints.kafkaBrokers}`);
  console.log(`  SCHEMA_REGISTRY_URL=${endpoints.schemaRegistryUrl}`);
  console.log(`  MONGO_URL=${endpoints.mongoUrl}`);
  if (endpoints.kafkaUsersFile !== undefined) {
    console.log(`  KAFKA_SASL_MECHANISM=scram-sha-512 (users: admin, client and one per worker; passwords in`);
    console.log(`    ${endpoints.kafkaUsersFile}, mode 0600)`);
  }
  console.log(`  (recorded in ${stack.paths.stateFile})`);
}

/**
 * Stops the servers that up started, or with `only` that one server (the state then keeps the others); `kill` sends
 * SIGKILL at once instead of SIGTERM first.
 */
async function down(stack: Stack, only?: ServerId, kill = false): Promise<number> {
  const state = readState(stack.paths.stateFile);
  const servers = only === undefined ? stack.servers : stack.servers.filter((server) => server.id === only);
  const stopTimeoutMs = kill ? 0 : stack.config.stopTimeoutMs;
  const results = await Promise.all(
    servers.map(async (server): Promise<boolean> => {
      const file = pidFile(stack.paths, server.id);
      const pids = new Set([readPid(file), state?.pids[server.id]].filter((pid) => pid !== undefined));
      let ok = true;
      let stoppedAny = false;
      for (const pid of pids) {
        if (!isAlive(pid)) continue;
        if (!processHasArg(pid, server.marker)) {
          say(server.id, `pid ${pid} is no longer ${server.label}; leaving it alone`);
          continue;
        }
        const t0 = Date.now();
        try {
          const outcome = await stopProcessGroup(pid, stopTimeoutMs);
          say(
            server.id,
            kill
              ? `killed pid ${pid}`
              : outcome === 'killed'
                ? `killed pid ${pid} (no exit ${stopTimeoutMs / 1000}s after SIGTERM)`
                : `stopped pid ${pid} in ${elapsed(t0)}`,
          );
          stoppedAny = true;
        } catch (error) {
          say(server.id, `could not stop pid ${pid}: ${errorMessage(error)}`);
          ok = false;
        }
      }
      if (!stoppedAny && ok) say(server.id, 'not running');
      if (ok) removeFile(file);
      return ok;
    }),
  );
  if (only === undefined || state === undefined) removeState(stack.paths.stateFile);
  else {
    const pids = { ...state.pids };
    delete pids[only];
    writeState(stack.paths.stateFile, { ...state, pids });
  }
  return results.every(Boolean) ? 0 : 1;
}

async function status(stack: Stack): Promise<number> {
  const state = readState(stack.paths.stateFile);
  const rows = await Promise.all(
    stack.servers.map(async (server): Promise<{ healthy: boolean; line: string }> => {
      if (server.external !== undefined) {
        const problem = await checkOnce(server, server.external);
        const health = problem === undefined ? 'healthy' : `NOT healthy: ${problem}`;
        return { healthy: problem === undefined, line: `external ${server.external}: ${health}` };
      }
      const pid = runningPid(stack, server, state);
      if (pid === undefined) {
        const stale = fs.existsSync(pidFile(stack.paths, server.id)) ? ' (stale pid file)' : '';
        const known = stale === '' ? undefined : diagnosis(stack, server);
        return { healthy: false, line: `stopped${stale}${known === undefined ? '' : `: ${known}`}` };
      }
      const endpoint = state?.[ENDPOINT_KEY[server.id]] ?? server.endpoint;
      const problem = await checkOnce(server, endpoint);
      return {
        healthy: problem === undefined,
        line:
          problem === undefined
            ? `running, healthy: pid ${pid}, ${endpoint}`
            : `running, NOT healthy: pid ${pid}, ${endpoint}: ${problem} (log: ${logFile(stack.paths, server.id)})` +
              (diagnosis(stack, server) === undefined ? '' : `; ${diagnosis(stack, server)}`),
      };
    }),
  );
  stack.servers.forEach((server, index) => {
    const row = rows[index];
    if (row !== undefined) say(server.id, row.line);
  });
  if (state !== undefined) say('stack', `started ${state.startedAt}; state in ${stack.paths.stateFile}`);
  return rows.every((row) => row.healthy) ? 0 : 1;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (!['up', 'down', 'status', 'stop', 'start'].includes(command)) {
    console.error(`stack: unknown command ${command}\n\n${USAGE}`);
    return 2;
  }
  const oneServer = command === 'stop' || command === 'start';
  const [target, ...flags] = oneServer ? rest : [undefined, ...rest];
  const only = SERVER_IDS.find((id) => id === target);
  if (oneServer && only === undefined) {
    console.error(`stack ${command}: name one server: ${SERVER_IDS.join(', ')}\n\n${USAGE}`);
    return 2;
  }
  const fresh = flags.includes('--fresh');
  const kill = flags.includes('--kill');
  const unknown = flags.filter(
    (flag) => !(flag === '--fresh' && command === 'up') && !(flag === '--kill' && command === 'stop'),
  );
  if (unknown.length > 0) {
    console.error(`stack ${command}: unknown option ${unknown.join(' ')}\n\n${USAGE}`);
    return 2;
  }

  let config: StackConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`stack: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const paths = stackPaths(config.cacheDir, config.runDir);
  const stack: Stack = {
    config,
    paths,
    servers: [kafkaServer(config, paths), registryServer(config, paths), mongoServer(config, paths)],
  };

  if (command === 'status') return status(stack);
  fs.mkdirSync(paths.runDir, { recursive: true });
  const onWait = (holder: number): void => say('stack', `waiting for another stack command (pid ${holder})...`);
  return withLock(paths.lockFile, onWait, () => {
    if (command === 'up') return up(stack, fresh);
    if (command === 'start') return up(stack, false, only);
    return down(stack, only, kill);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`stack: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
