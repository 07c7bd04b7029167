/**
 * The CLI's configuration: the only place the CLI reads process.env. Endpoints come from KAFKA_BROKERS,
 * SCHEMA_REGISTRY_URL and MONGO_URL when set, else from the running local stack (stack.json in WARDEN_STACK_RUN_DIR,
 * default <cache>/run, written by `warden stack up`), else the local defaults. Everything else a worker reads (WARDEN_*, LOG_LEVEL, ...) is parsed
 * with the workers' own WorkerEnv, so the CLI and the fleet it starts agree on topics, subjects and database.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  kafkaSaslEnv,
  loadConfig,
  producerKeyFilesIn,
  producerPublicKeysText,
  readKafkaUsersFile,
  runtimeConfigFrom,
  WorkerEnv,
  type KafkaUsersFile,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import { z } from 'zod';

/** The process environment, as the CLI passes it around. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The repository root (the CLI runs from its sources: cli/src/config.ts). */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** Where the endpoints came from. */
export type EndpointSource = 'environment' | 'local stack' | 'defaults';

/** The CLI's settings. */
export interface CliConfig {
  /** The runtime settings the CLI's own clients use (the same a worker would derive from this environment). */
  readonly runtime: WorkerRuntimeConfig;
  readonly endpointSource: EndpointSource;
  /** Downloads, builds and run state (WARDEN_CACHE_DIR, default ~/.cache/warden). */
  readonly cacheDir: string;
  /** Pid files, logs and the state of the fleet of this topic prefix. */
  readonly fleetDir: string;
  /** The environment handed to the workers `warden up` starts (this one, with the endpoints filled in). */
  readonly workerEnv: Record<string, string>;
  /** Colour on output: a terminal, unless NO_COLOR is set; FORCE_COLOR forces it. */
  readonly color: boolean;
  /** The escalation service (ESCALATION_URL, default http://127.0.0.1:8090) and its bearer token. */
  readonly escalationUrl: string;
  readonly escalationToken: string | undefined;
  /**
   * The Kafka users of the local stack (one principal per worker, ADR 0019): from its stack.json, or
   * WARDEN_KAFKA_USERS_FILE. With them the CLI connects as the admin (unless KAFKA_SASL_* say otherwise), grants the
   * prefix's ACLs, and `warden up` starts each worker as its own principal.
   */
  readonly kafkaUsers: KafkaUsersFile | undefined;
}

/** Options given on the command line, which win over the environment. */
export interface CliOverrides {
  readonly prefix?: string;
  readonly db?: string;
}

const CliEnv = z.object({
  WARDEN_CACHE_DIR: z.string().min(1).optional(),
  /** A second local stack's state directory (as `npm run stack` takes it), else <cache>/run. */
  WARDEN_STACK_RUN_DIR: z.string().min(1).optional(),
  NO_COLOR: z.string().optional(),
  FORCE_COLOR: z.string().optional(),
  ESCALATION_URL: z.url().default('http://127.0.0.1:8090'),
  ESCALATION_TOKEN: z.string().min(1).optional(),
  WARDEN_KAFKA_USERS_FILE: z.string().min(1).optional(),
});

const StackFile = z.object({
  kafkaBrokers: z.string(),
  schemaRegistryUrl: z.string(),
  mongoUrl: z.string(),
  kafkaUsersFile: z.string().optional(),
});

/** The endpoints recorded by the local stack in its run directory, if it wrote them. */
function stackEndpoints(runDir: string): z.infer<typeof StackFile> | undefined {
  let text: string;
  try {
    text = readFileSync(join(runDir, 'stack.json'), 'utf8');
  } catch {
    return undefined; // no local stack up: the defaults or the environment apply
  }
  const parsed = StackFile.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

/** Reads the CLI's configuration. `isTty` says whether stdout is a terminal. */
export function loadCliConfig(
  env: Env = process.env,
  overrides: CliOverrides = {},
  isTty: boolean = process.stdout.isTTY,
): CliConfig {
  const cli = loadConfig(CliEnv, env);
  const cacheDir =
    cli.WARDEN_CACHE_DIR === undefined ? join(homedir(), '.cache', 'warden') : resolve(cli.WARDEN_CACHE_DIR);
  const given = (name: string): string | undefined =>
    env[name] === undefined || env[name] === '' ? undefined : env[name];
  const fromEnv = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'MONGO_URL'].every((n) => given(n) !== undefined);
  const runDir = cli.WARDEN_STACK_RUN_DIR === undefined ? join(cacheDir, 'run') : resolve(cli.WARDEN_STACK_RUN_DIR);
  const stack = fromEnv ? undefined : stackEndpoints(runDir);
  const filled: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) filled[k] = v;
  if (stack !== undefined) {
    filled.KAFKA_BROKERS = given('KAFKA_BROKERS') ?? stack.kafkaBrokers;
    filled.SCHEMA_REGISTRY_URL = given('SCHEMA_REGISTRY_URL') ?? stack.schemaRegistryUrl;
    filled.MONGO_URL = given('MONGO_URL') ?? stack.mongoUrl;
  }
  // The local stack's Kafka requires SASL: its users file names the admin, which the CLI acts as.
  const usersFile =
    cli.WARDEN_KAFKA_USERS_FILE ?? (given('KAFKA_BROKERS') === undefined ? stack?.kafkaUsersFile : undefined);
  const kafkaUsers = usersFile === undefined ? undefined : readKafkaUsersFile(usersFile);
  if (kafkaUsers !== undefined && given('KAFKA_SASL_MECHANISM') === undefined) {
    Object.assign(filled, kafkaSaslEnv(kafkaUsers, 'admin'));
  }
  if (overrides.prefix !== undefined) filled.WARDEN_TOPIC_PREFIX = overrides.prefix;
  if (overrides.db !== undefined) filled.MONGO_DB = overrides.db;
  // The CLI submits tasks as the local installation's submitter and verifies producers with its keys (ADR 0018),
  // unless the environment names keys; the workers `warden up` starts get their own roles' keys (fleet.ts).
  const producerKeys = producerKeyFilesIn(cacheDir);
  const own = { ...filled };
  if (producerKeys !== undefined) {
    own.WARDEN_PRODUCER_SIGNING_KEY = given('WARDEN_PRODUCER_SIGNING_KEY') ?? producerKeys.submitter.signingKeyText;
    own.WARDEN_PRODUCER_PUBLIC_KEYS = given('WARDEN_PRODUCER_PUBLIC_KEYS') ?? producerPublicKeysText(producerKeys);
  }
  const runtime = runtimeConfigFrom(loadConfig(WorkerEnv, own));
  return {
    runtime,
    endpointSource: fromEnv ? 'environment' : stack === undefined ? 'defaults' : 'local stack',
    cacheDir,
    fleetDir: join(runDir, 'fleet', runtime.topicPrefix),
    workerEnv: filled,
    color: cli.FORCE_COLOR !== undefined && cli.FORCE_COLOR !== '0' ? true : cli.NO_COLOR === undefined && isTty,
    escalationUrl: cli.ESCALATION_URL.replace(/\/+$/, ''),
    escalationToken: cli.ESCALATION_TOKEN,
    kafkaUsers,
  };
}
