// The one place where the local stack reads environment variables.
import os from 'node:os';
import path from 'node:path';

export const KAFKA_VERSION = '3.9.1';
export const APICURIO_VERSION = '3.0.9';
export const FERRETDB_VERSION = 'v1.24.2';

export interface ServerConfig {
  /** Port the local server listens on (127.0.0.1). */
  readonly port: number;
  /** Endpoint given through the environment: the stack then checks it and starts nothing. */
  readonly external: string | undefined;
}

export interface KafkaConfig extends ServerConfig {
  readonly controllerPort: number;
  /** The topic prefix whose per-worker ACLs `up` grants (WARDEN_TOPIC_PREFIX, default "warden"); ADR 0019. */
  readonly aclPrefix: string;
  /** Credentials for an external KAFKA_BROKERS (KAFKA_SASL_*); the local Kafka uses its users file. */
  readonly sasl: SaslEnv | undefined;
  /**
   * The broker's Java heap in MiB (KAFKA_HEAP_MB, default 1024). Every partition on disk costs heap at start: 512 MiB
   * ran out (OutOfMemoryError) on a data directory holding some 16,000 partitions of earlier test runs.
   */
  readonly heapMb: number;
}

/** SASL credentials given through KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD. */
export interface SaslEnv {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

export interface StackConfig {
  readonly cacheDir: string;
  /**
   * Where this stack keeps its state, data and logs: WARDEN_STACK_RUN_DIR, else <cacheDir>/run. A second stack (on
   * other ports, e.g. for a test that kills and restarts servers) shares the downloads but not the run directory.
   */
  readonly runDir: string;
  readonly kafka: KafkaConfig;
  readonly registry: ServerConfig;
  readonly mongo: ServerConfig;
  /**
   * FerretDB's SQLite synchronous pragma (FERRETDB_SQLITE_SYNCHRONOUS): `normal` (the default) syncs SQLite's WAL at
   * checkpoints, so a commit survives any process crash and only an OS crash or power cut can lose the last ones,
   * the contract of a standalone MongoDB's default write concern; `full` syncs at every commit.
   */
  readonly mongoSqliteSynchronous: 'full' | 'normal';
  /** How long each server may take to become healthy. */
  readonly startTimeoutMs: number;
  /** How long a server may take to exit after SIGTERM before it gets SIGKILL. */
  readonly stopTimeoutMs: number;
  readonly javaBin: string;
  readonly mvnBin: string;
  readonly goBin: string;
}

/** Endpoints given through KAFKA_BROKERS, SCHEMA_REGISTRY_URL and MONGO_URL. */
export interface EndpointEnv {
  readonly kafkaBrokers: string | undefined;
  readonly schemaRegistryUrl: string | undefined;
  readonly mongoUrl: string | undefined;
  /** Credentials for KAFKA_BROKERS (all three variables, or none). */
  readonly kafkaSasl: SaslEnv | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new ConfigError(`${name}=${raw} is not a TCP port (1-65535)`);
  }
  return value;
}

function positiveInteger(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name}=${raw} is not a positive integer`);
  return value;
}

function seconds(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${name}=${raw} is not a positive number of seconds`);
  }
  return value * 1000;
}

/** Cache directory: WARDEN_CACHE_DIR, else ~/.cache/warden. */
export function cacheDirFrom(env: Env = process.env): string {
  const explicit = nonEmpty(env, 'WARDEN_CACHE_DIR');
  return explicit !== undefined ? path.resolve(explicit) : path.join(os.homedir(), '.cache', 'warden');
}

/** Run directory: WARDEN_STACK_RUN_DIR, else <cacheDir>/run. */
export function runDirFrom(env: Env = process.env): string {
  const explicit = nonEmpty(env, 'WARDEN_STACK_RUN_DIR');
  return explicit !== undefined ? path.resolve(explicit) : path.join(cacheDirFrom(env), 'run');
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

function saslEnv(env: Env): SaslEnv | undefined {
  const mechanism = nonEmpty(env, 'KAFKA_SASL_MECHANISM');
  const username = nonEmpty(env, 'KAFKA_SASL_USERNAME');
  const password = nonEmpty(env, 'KAFKA_SASL_PASSWORD');
  if (mechanism === undefined && username === undefined && password === undefined) return undefined;
  const known = SASL_MECHANISMS.find((m) => m === mechanism);
  if (known === undefined || username === undefined || password === undefined) {
    throw new ConfigError(
      `KAFKA_SASL_MECHANISM (${SASL_MECHANISMS.join(', ')}), KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD go together`,
    );
  }
  return { mechanism: known, username, password };
}

export function endpointEnv(env: Env = process.env): EndpointEnv {
  return {
    kafkaBrokers: nonEmpty(env, 'KAFKA_BROKERS'),
    schemaRegistryUrl: nonEmpty(env, 'SCHEMA_REGISTRY_URL')?.replace(/\/+$/, ''),
    mongoUrl: nonEmpty(env, 'MONGO_URL'),
    kafkaSasl: saslEnv(env),
  };
}

function sqliteSynchronous(env: Env): StackConfig['mongoSqliteSynchronous'] {
  const value = nonEmpty(env, 'FERRETDB_SQLITE_SYNCHRONOUS') ?? 'normal';
  if (value !== 'full' && value !== 'normal') {
    throw new ConfigError(`FERRETDB_SQLITE_SYNCHRONOUS must be full or normal, not ${value}`);
  }
  return value;
}

export function loadConfig(env: Env = process.env): StackConfig {
  const endpoints = endpointEnv(env);
  const javaHome = nonEmpty(env, 'JAVA_HOME');
  const kafkaPort = port(env, 'KAFKA_PORT', 9092);
  const config: StackConfig = {
    cacheDir: cacheDirFrom(env),
    runDir: runDirFrom(env),
    kafka: {
      port: kafkaPort,
      controllerPort: port(env, 'KAFKA_CONTROLLER_PORT', 9093),
      external: endpoints.kafkaBrokers,
      aclPrefix: nonEmpty(env, 'WARDEN_TOPIC_PREFIX') ?? 'warden',
      sasl: endpoints.kafkaSasl,
      heapMb: positiveInteger(env, 'KAFKA_HEAP_MB', 1024),
    },
    registry: { port: port(env, 'SCHEMA_REGISTRY_PORT', 8081), external: endpoints.schemaRegistryUrl },
    mongo: { port: port(env, 'MONGO_PORT', 27017), external: endpoints.mongoUrl },
    mongoSqliteSynchronous: sqliteSynchronous(env),
    startTimeoutMs: seconds(env, 'WARDEN_STACK_TIMEOUT', 120),
    stopTimeoutMs: seconds(env, 'WARDEN_STACK_STOP_TIMEOUT', 30),
    javaBin: nonEmpty(env, 'WARDEN_JAVA') ?? (javaHome !== undefined ? path.join(javaHome, 'bin', 'java') : 'java'),
    mvnBin: nonEmpty(env, 'WARDEN_MVN') ?? 'mvn',
    goBin: nonEmpty(env, 'WARDEN_GO') ?? 'go',
  };
  const local = [
    ['KAFKA_PORT', config.kafka.external === undefined ? config.kafka.port : undefined],
    ['KAFKA_CONTROLLER_PORT', config.kafka.external === undefined ? config.kafka.controllerPort : undefined],
    ['SCHEMA_REGISTRY_PORT', config.registry.external === undefined ? config.registry.port : undefined],
    ['MONGO_PORT', config.mongo.external === undefined ? config.mongo.port : undefined],
  ] as const;
  const seen = new Map<number, string>();
  for (const [name, value] of local) {
    if (value === undefined) continue;
    const other = seen.get(value);
    if (other !== undefined) throw new ConfigError(`${name} and ${other} are both ${value}`);
    seen.set(value, name);
  }
  return config;
}

/** The environment of this process plus overrides, for a child process. */
export function childEnv(overrides: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}
