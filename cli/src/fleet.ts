/**
 * The fleet as real processes: each worker is `node --conditions=@warden/source --import tsx services/<name>/src/main.ts`
 * in its own process group, its log in <fleetDir>/<name>-<replica>.log, its pid in fleet.json. `up` waits until each
 * worker is ready; `down` sends SIGTERM, then SIGKILL after the grace period.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createKafka,
  decisionKeysFileIn,
  ensureDecisionKeyFile,
  ensureProducerKeyFiles,
  grantKafkaAcls,
  guardKeysFileIn,
  kafkaSaslEnv,
  kafkaSecurityOf,
  LOCAL_GUARD_KEY_ID,
  producerPublicKeysText,
  WorkerPrincipals,
  type WorkerPrincipal,
} from '@warden/runtime';
import { pino } from 'pino';
import { z } from 'zod';
import { REPO_ROOT, type CliConfig } from './config.js';
import { CliError, CliErrorCodes, usageError } from './errors.js';

/** The workers `warden up` can start, in start order (the model first: the planner calls it). */
export const FleetServices = ['scripted-model', 'guard', 'executor', 'planner', 'auditor', 'escalation'] as const;
export type FleetService = (typeof FleetServices)[number];

const isService = (s: string): s is FleetService => (FleetServices as readonly string[]).includes(s);

const FleetProcess = z.object({
  service: z.enum(FleetServices),
  replica: z.number().int().min(1),
  pid: z.number().int().positive(),
  port: z.number().int().positive(),
  readyUrl: z.string(),
  logFile: z.string(),
});
/** One worker process of the fleet. */
export type FleetProcess = z.infer<typeof FleetProcess>;

const FleetState = z.object({
  topicPrefix: z.string(),
  mongoDb: z.string(),
  startedAt: z.string(),
  /** The model endpoint the planners use (the fleet's scripted model, or OPENAI_BASE_URL). */
  modelUrl: z.string(),
  /** The auditor's query API key of tenant "default" (generated when AUDITOR_API_KEYS is unset). */
  auditorKey: z.string().optional(),
  /** The escalation service's people API and a bearer token of the fleet's approver (when it runs). */
  escalation: z.object({ url: z.string(), token: z.string() }).optional(),
  processes: z.array(FleetProcess),
});
/** What `warden up` recorded. */
export type FleetState = z.infer<typeof FleetState>;

/** The executor's file workspace of a fleet (EXECUTOR_WORKSPACE_ROOT, else <fleetDir>/workspace). */
export const workspaceOf = (config: CliConfig): string =>
  config.workerEnv.EXECUTOR_WORKSPACE_ROOT ?? join(config.fleetDir, 'workspace');

const stateFile = (config: CliConfig): string => join(config.fleetDir, 'fleet.json');

/** The recorded fleet of the configured prefix, if any. */
export function readFleet(config: CliConfig): FleetState | undefined {
  if (!existsSync(stateFile(config))) return undefined;
  return FleetState.parse(JSON.parse(readFileSync(stateFile(config), 'utf8')));
}

function writeFleet(config: CliConfig, state: FleetState): void {
  mkdirSync(config.fleetDir, { recursive: true });
  const tmp = `${stateFile(config)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile(config));
}

/** Whether a process is alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Parses `--replicas guard=2,executor=3` (or repeated flags). */
export function parseReplicas(specs: readonly string[]): Map<FleetService, number> {
  const out = new Map<FleetService, number>();
  for (const spec of specs.flatMap((s) => s.split(','))) {
    const match = /^([a-z-]+)=(\d+)$/.exec(spec.trim());
    const name = match?.[1];
    const count = Number(match?.[2]);
    if (name === undefined || !isService(name) || !Number.isInteger(count) || count < 1 || count > 32) {
      throw usageError(
        `bad --replicas entry "${spec}"`,
        `write NAME=COUNT with NAME one of ${FleetServices.join(', ')} and COUNT 1..32, e.g. --replicas guard=2`,
      );
    }
    out.set(name, count);
  }
  return out;
}

/** Checks service names given on the command line. */
export function parseServices(names: readonly string[]): FleetService[] {
  if (names.length === 0) return [...FleetServices];
  for (const n of names) {
    if (!isService(n)) throw usageError(`unknown worker "${n}"`, `the workers are: ${FleetServices.join(', ')}`);
  }
  return FleetServices.filter((s) => names.includes(s));
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false; // not listening yet, or stopped: the caller decides from the process and its deadline
  }
}

/** The last lines of a file, for an error message. */
export function lastLines(file: string, count: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-count).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Options of `fleetUp`. */
export interface FleetUpOptions {
  readonly services: readonly FleetService[];
  readonly replicas: ReadonlyMap<FleetService, number>;
  /** How long each worker may take to become ready. */
  readonly timeoutMs: number;
  readonly onProgress?: (line: string) => void;
}

/** Grants the ACLs of the fleet's topic prefix to the workers' principals, as the local stack's admin. */
async function grantAcls(config: CliConfig): Promise<void> {
  const users = config.kafkaUsers!;
  const kafka = createKafka(
    config.runtime.brokers,
    'warden-cli',
    pino({ level: 'fatal' }),
    kafkaSecurityOf(users, 'admin'),
  );
  const admin = kafka.admin();
  try {
    await admin.connect();
    await grantKafkaAcls(admin, config.runtime.topicPrefix);
  } catch (error) {
    throw new CliError(
      CliErrorCodes.fleet,
      `cannot grant the Kafka ACLs of prefix "${config.runtime.topicPrefix}": ${(error as Error).message}`,
      {
        hint: 'is the local stack up (`warden stack status`)? Its users are in the file WARDEN_KAFKA_USERS_FILE names',
      },
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Starts the workers as detached processes and waits until each is ready (/readyz; the auditor's API /healthz). */
export async function fleetUp(config: CliConfig, options: FleetUpOptions): Promise<FleetState> {
  const existing = readFleet(config);
  if (existing !== undefined && existing.processes.some((p) => isAlive(p.pid))) {
    throw new CliError(
      CliErrorCodes.fleet,
      `a fleet is already running on topic prefix "${config.runtime.topicPrefix}"`,
      {
        hint: 'see it with `warden ps`; stop it with `warden down`; or use another prefix with --prefix',
      },
    );
  }
  mkdirSync(config.fleetDir, { recursive: true });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const env = config.workerEnv;
  const external = env.OPENAI_BASE_URL;
  const services = external === undefined ? options.services : options.services.filter((s) => s !== 'scripted-model');
  const auditorKey = env.AUDITOR_API_KEYS === undefined ? randomBytes(16).toString('hex') : undefined;
  const checkpointKey = env.AUDITOR_CHECKPOINT_KEY ?? randomBytes(32).toString('hex');
  // People's decisions are signed by the escalation service and checked by the planner and the executor, with the
  // local stack's key pair unless the environment names keys of its own.
  const decisionKeys = ensureDecisionKeyFile(decisionKeysFileIn(config.cacheDir));
  // The guard signs its verdicts and only the executor checks them (ADR 0018): the private key goes to the guard alone.
  const guardKeys = ensureDecisionKeyFile(guardKeysFileIn(config.cacheDir), LOCAL_GUARD_KEY_ID);
  // Each worker signs what it produces with its role's key; the auditor checks every event's producer (ADR 0018).
  const producerKeys = ensureProducerKeyFiles(config.cacheDir);
  const peopleToken = randomBytes(24).toString('hex');
  // Each worker connects as its own Kafka principal (ADR 0019), with the ACLs of this prefix, granted as the admin.
  const users = config.kafkaUsers;
  if (users !== undefined) await grantAcls(config);
  const principalOf = (service: FleetService): WorkerPrincipal | undefined =>
    WorkerPrincipals.find((p) => p === service);
  const state: FleetState = {
    topicPrefix: config.runtime.topicPrefix,
    mongoDb: config.runtime.mongoDb,
    startedAt: new Date().toISOString(),
    modelUrl: external ?? '',
    ...(auditorKey === undefined ? {} : { auditorKey }),
    processes: [],
  };
  const started: FleetProcess[] = [];
  const startOne = async (service: FleetService, replica: number): Promise<FleetProcess> => {
    const port = await freePort();
    const own: Record<string, string> = { LOG_LEVEL: env.LOG_LEVEL ?? 'info' };
    // Ready, not just alive: a worker answers /readyz once it runs and has joined its consumer group; the model once
    // it serves; the auditor's API (its /healthz) only once the auditor has started.
    let readyUrl = `http://127.0.0.1:${port}/readyz`;
    if (service === 'scripted-model') {
      own.SCRIPTED_MODEL_PORT = String(port);
      own.SCRIPTED_MODEL_HOST = '127.0.0.1';
    } else if (service === 'auditor') {
      own.WARDEN_HTTP_PORT = String(await freePort());
      own.AUDITOR_API_PORT = String(port);
      own.AUDITOR_API_HOST = '127.0.0.1';
      own.AUDITOR_API_KEYS = env.AUDITOR_API_KEYS ?? `default:${auditorKey}`;
      own.AUDITOR_CHECKPOINT_KEY = checkpointKey;
      readyUrl = `http://127.0.0.1:${port}/healthz`;
    } else {
      own.WARDEN_HTTP_PORT = String(port);
    }
    const principal = principalOf(service);
    if (users !== undefined && principal !== undefined) Object.assign(own, kafkaSaslEnv(users, principal));
    if (service === 'planner' || service === 'executor') {
      own.WARDEN_DECISION_PUBLIC_KEYS = env.WARDEN_DECISION_PUBLIC_KEYS ?? decisionKeys.verifyingKeyText;
    }
    if (service === 'executor') {
      own.WARDEN_GUARD_PUBLIC_KEYS = env.WARDEN_GUARD_PUBLIC_KEYS ?? guardKeys.verifyingKeyText;
    }
    if (service === 'guard') own.GUARD_SIGNING_KEY = env.GUARD_SIGNING_KEY ?? guardKeys.signingKeyText;
    if (service !== 'scripted-model') own.WARDEN_PRODUCER_SIGNING_KEY = producerKeys[service].signingKeyText;
    if (service === 'auditor') {
      own.WARDEN_PRODUCER_PUBLIC_KEYS = env.WARDEN_PRODUCER_PUBLIC_KEYS ?? producerPublicKeysText(producerKeys);
    }
    if (service === 'escalation') {
      const apiPort = await freePort();
      own.ESCALATION_HTTP_PORT = String(apiPort);
      own.ESCALATION_HTTP_HOST = '127.0.0.1';
      own.ESCALATION_SIGNING_KEY = env.ESCALATION_SIGNING_KEY ?? decisionKeys.signingKeyText;
      if (env.ESCALATION_TOKENS_FILE === undefined && env.ESCALATION_JWT_HS256_SECRET === undefined) {
        // A token of the fleet's own approver, for `warden escalations` and the demo (kept in the fleet's state).
        const tokensFile = join(config.fleetDir, 'escalation-tokens.json');
        const people = [
          {
            token: peopleToken,
            subject: 'fleet-approver',
            roles: ['approver', 'admin'],
            tenants: ['tenant-demo', 'default'],
          },
        ];
        writeFileSync(tokensFile, JSON.stringify(people), { mode: 0o600 });
        own.ESCALATION_TOKENS_FILE = tokensFile;
        state.escalation = { url: `http://127.0.0.1:${apiPort}`, token: peopleToken };
      }
    }
    if (service === 'planner') {
      own.OPENAI_BASE_URL = state.modelUrl;
      own.OPENAI_API_KEY = env.OPENAI_API_KEY ?? 'scripted';
    }
    if (service === 'executor') {
      own.EXECUTOR_WORKSPACE_ROOT = workspaceOf(config);
      own.EXECUTOR_REPLICA_ID = env.EXECUTOR_REPLICA_ID ?? `executor-${replica}-${randomBytes(3).toString('hex')}`;
      mkdirSync(own.EXECUTOR_WORKSPACE_ROOT, { recursive: true });
    }
    const logFile = join(config.fleetDir, `${service}-${replica}.log`);
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(
        process.execPath,
        ['--conditions=@warden/source', '--import', tsx, join('services', service, 'src', 'main.ts')],
        {
          cwd: REPO_ROOT,
          env: { ...env, MONGO_DB: config.runtime.mongoDb, WARDEN_TOPIC_PREFIX: config.runtime.topicPrefix, ...own },
          detached: true,
          stdio: ['ignore', fd, fd],
        },
      );
      child.unref();
      if (child.pid === undefined) throw new CliError(CliErrorCodes.fleet, `cannot start ${service}`);
      const proc: FleetProcess = { service, replica, pid: child.pid, port, readyUrl, logFile };
      started.push(proc);
      writeFleet(config, { ...state, processes: [...started] });
      return proc;
    } finally {
      closeSync(fd);
    }
  };
  const waitHealthy = async (proc: FleetProcess): Promise<void> => {
    const deadline = Date.now() + options.timeoutMs;
    while (!(await answers(proc.readyUrl))) {
      const why = !isAlive(proc.pid)
        ? 'exited'
        : Date.now() > deadline
          ? `did not answer ${proc.readyUrl} within ${options.timeoutMs} ms`
          : undefined;
      if (why !== undefined) {
        throw new CliError(
          CliErrorCodes.fleet,
          `${proc.service}-${proc.replica} ${why}; its log ends:\n${lastLines(proc.logFile, 15)}`,
          {
            hint: `the whole log: warden logs ${proc.service}; check the endpoints with \`warden stack status\``,
            exitCode: 1,
          },
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    options.onProgress?.(`${proc.service}-${proc.replica} ready (pid ${proc.pid}, ${proc.readyUrl})`);
  };
  try {
    if (services.includes('scripted-model')) {
      const model = await startOne('scripted-model', 1);
      state.modelUrl = `http://127.0.0.1:${model.port}/v1`;
      await waitHealthy(model);
    } else if (state.modelUrl === '') {
      state.modelUrl = readFleet(config)?.modelUrl ?? 'http://127.0.0.1:8787/v1';
    }
    const rest: FleetProcess[] = [];
    for (const service of services.filter((s) => s !== 'scripted-model')) {
      for (let replica = 1; replica <= (options.replicas.get(service) ?? 1); replica++) {
        rest.push(await startOne(service, replica));
      }
    }
    await Promise.all(rest.map(waitHealthy));
  } catch (error) {
    await stopProcesses(started, 10_000);
    rmSync(stateFile(config), { force: true });
    throw error;
  }
  const final = { ...state, processes: started };
  writeFleet(config, final);
  return final;
}

async function waitDead(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    alive = alive.filter(isAlive);
  }
  return alive;
}

const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
};

/** SIGTERM to each process group, SIGKILL to those still alive after the grace period. Returns the killed ones. */
export async function stopProcesses(procs: readonly FleetProcess[], graceMs: number): Promise<FleetProcess[]> {
  const alive = procs.filter((p) => isAlive(p.pid));
  for (const p of alive) signalGroup(p.pid, 'SIGTERM');
  const stuck = new Set(
    await waitDead(
      alive.map((p) => p.pid),
      graceMs,
    ),
  );
  const killed = alive.filter((p) => stuck.has(p.pid));
  for (const p of killed) signalGroup(p.pid, 'SIGKILL');
  await waitDead([...stuck], 5_000);
  return killed;
}

/** Stops the fleet of the configured prefix; returns what was running, or undefined when nothing was recorded. */
export async function fleetDown(
  config: CliConfig,
  graceMs: number,
): Promise<{ stopped: FleetProcess[]; killed: FleetProcess[] } | undefined> {
  const state = readFleet(config);
  if (state === undefined) return undefined;
  const stopped = state.processes.filter((p) => isAlive(p.pid));
  const killed = await stopProcesses(state.processes, graceMs);
  rmSync(stateFile(config), { force: true });
  return { stopped, killed };
}

/** Each recorded process, whether it is alive and whether it answers ready. */
export async function fleetStatus(
  config: CliConfig,
): Promise<Array<FleetProcess & { alive: boolean; ready: boolean }> | undefined> {
  const state = readFleet(config);
  if (state === undefined) return undefined;
  return Promise.all(
    state.processes.map(async (p) => {
      const alive = isAlive(p.pid);
      return { ...p, alive, ready: alive && (await answers(p.readyUrl)) };
    }),
  );
}
