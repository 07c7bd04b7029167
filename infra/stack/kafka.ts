// Apache Kafka 3.9.1 in KRaft mode: one combined broker+controller, from Maven Central. Clients authenticate with
// SASL/SCRAM-SHA-512, one principal per worker, and the StandardAuthorizer denies what no ACL allows (ADR 0019).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { ensureKafkaUsersFile, grantKafkaAcls, kafkaUsersFileIn, type KafkaUsersFile } from '@warden/runtime';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';

import type { SaslEnv, StackConfig } from './config.js';
import { KAFKA_VERSION } from './config.js';
import { installInto, runMaven } from './install.js';
import type { StackPaths } from './paths.js';
import { workDir } from './paths.js';
import { canConnect, runCommand } from './proc.js';
import type { ServerDefinition } from './server.js';

const POM = `<?xml version="1.0" encoding="UTF-8"?>
<!-- Throwaway pom: collects Kafka ${KAFKA_VERSION} and its runtime dependencies for the Warden local stack. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.warden</groupId>
  <artifactId>kafka-dist</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <!-- kafka_2.13 has reload4j as compileOnly: the logging binding is not in its pom. -->
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;

/** How long the ACL set-up's requests may take. */
const CONFIGURE_TIMEOUT_MS = 30_000;

const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
`;

/** A Kafka cluster id: 16 random bytes in unpadded base64url, as Uuid.randomUuid() makes them. */
export function randomClusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    // Kafka rejects the all-zero and metadata-topic ids; a leading '-' would read as a CLI flag.
    if (!id.startsWith('-') && id !== 'AAAAAAAAAAAAAAAAAAAAAA' && id !== 'AAAAAAAAAAAAAAAAAAAAAQ') return id;
  }
}

/**
 * What the data directory's security depends on: a data directory formatted for another value (e.g. before SASL, or
 * with other passwords) is wiped and formatted again. Bump the version when the SCRAM set-up changes.
 */
const SECURITY_VERSION = 'sasl-scram-sha-512-v1';

/** The security stamp of a users file (a hash: the marker holds no password). */
export function securityStamp(users: KafkaUsersFile): string {
  const text = JSON.stringify([SECURITY_VERSION, users.mechanism, Object.entries(users.users).sort()]);
  return `${SECURITY_VERSION} ${crypto.createHash('sha256').update(text).digest('hex')}\n`;
}

/** A JAAS value: Java string literal quoting (the generated passwords are base64url, this is belt and braces). */
const jaasQuote = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

function serverProperties(config: StackConfig, dataDir: string, users: KafkaUsersFile): string {
  const { port, controllerPort } = config.kafka;
  const admin = jaasQuote(users.users.admin);
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `SASL_PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `SASL_PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'SASL_PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    // Clients: SCRAM-SHA-512, users stored in the cluster metadata (created at format time).
    'listener.name.sasl_plaintext.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config': `org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password=${admin};`,
    // The controller cannot check SCRAM before it has read the metadata holding the users: PLAIN, the admin only.
    'listener.name.controller.sasl.enabled.mechanisms': 'PLAIN',
    'sasl.mechanism.controller.protocol': 'PLAIN',
    'listener.name.controller.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password=${admin} user_admin=${admin};`,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found': false,
    'super.users': 'User:admin',
    'log.dirs': dataDir,
    'num.partitions': 3,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': true,
    // The cleaner's 128 MiB default dedupe buffer is a quarter of this broker's heap.
    'log.cleaner.dedupe.buffer.size': 32 * 1024 * 1024,
  };
  const lines = Object.entries(props).map(([key, value]) => `${key}=${String(value)}`);
  return `# Generated by infra/stack/kafka.ts; rewritten on every start.\n${lines.join('\n')}\n`;
}

function parseBroker(broker: string): { host: string; port: number } {
  const colon = broker.lastIndexOf(':');
  const host = broker.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(broker.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port)) throw new Error(`broker "${broker}" is not host:port`);
  return { host, port };
}

/** Above this many partitions on disk, `up` warns: the broker's heap and start time grow with them. */
const MANY_PARTITIONS = 5_000;

/** Partition directories (topic-N) in a Kafka data directory; the metadata log and checkpoints are not counted. */
export function partitionDirectories(dataDir: string): number {
  if (!fs.existsSync(dataDir)) return 0;
  return fs
    .readdirSync(dataDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /-\d+$/.test(entry.name) && !entry.name.startsWith('__cluster_metadata'))
    .length;
}

/** A kafkajs client of the stack (health checks, ACLs), as the admin when SASL is on. */
function stackKafka(brokers: readonly string[], timeoutMs: number, sasl: SaslEnv | undefined): Kafka {
  return new Kafka({
    clientId: 'warden-stack-health',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    authenticationTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    ...(sasl === undefined ? {} : { sasl: { ...sasl } as SASLOptions }),
  });
}

/**
 * Kafka stops with "Shutdown broker because all log dirs in <dir> have failed" when its data directory is unusable
 * (left damaged by a crash, a full disk, files removed under it); it does the same on every start until the data is
 * wiped. Returns what to do about it when the log says so.
 */
export function diagnoseKafkaLog(log: string, dataDir: string, heapMb?: number): string | undefined {
  if (/java\.lang\.OutOfMemoryError: Java heap space/.test(log)) {
    return (
      `Kafka ran out of heap (OutOfMemoryError${heapMb === undefined ? '' : `, KAFKA_HEAP_MB=${heapMb}`}). The heap ` +
      `it needs grows with the partitions in ${dataDir} (${partitionDirectories(dataDir)} now). Cure: raise ` +
      'KAFKA_HEAP_MB, or `npm run stack -- down` then `npm run stack -- up --fresh` to drop the topics of earlier ' +
      "runs (this wipes the stack's data)."
    );
  }
  if (!/all log dirs in .* have failed/i.test(log)) return undefined;
  return (
    `Kafka's data directory ${dataDir} is unusable ("all log dirs ... have failed"), e.g. left damaged by a crash ` +
    'or a full disk, and Kafka stops on every start until it is wiped. Cure: `npm run stack -- down` then ' +
    "`npm run stack -- up --fresh` (with the same WARDEN_STACK_RUN_DIR and ports; this wipes the stack's data)."
  );
}

export async function checkKafka(brokers: string, timeoutMs: number, sasl?: SaslEnv): Promise<void> {
  const list = brokers
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  const first = list[0];
  if (first === undefined) throw new Error('no broker given');
  const { host, port } = parseBroker(first);
  if (!(await canConnect(host, port, timeoutMs))) throw new Error(`nothing accepts TCP connections on ${first}`);
  const admin = stackKafka(list, timeoutMs, sasl).admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The admin's SASL credentials from a users file. */
export function adminSasl(users: KafkaUsersFile): SaslEnv {
  return { mechanism: users.mechanism, username: 'admin', password: users.users.admin };
}

export function kafkaServer(config: StackConfig, paths: StackPaths): ServerDefinition {
  const dir = workDir(paths, 'kafka');
  const dataDir = path.join(dir, 'data');
  const propertiesFile = path.join(dir, 'server.properties');
  const log4jFile = path.join(dir, 'log4j.properties');
  const java = (mainClass: string, ...args: string[]): { command: string; args: string[]; cwd: string } => ({
    command: config.javaBin,
    args: [
      `-Xmx${config.kafka.heapMb}m`,
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${log4jFile}`,
      `-Dkafka.logs.dir=${path.join(dir, 'logs')}`,
      '-cp',
      `${paths.kafkaLib}/*`,
      mainClass,
      ...args,
    ],
    cwd: dir,
  });
  const jar = path.join(paths.kafkaLib, `kafka_2.13-${KAFKA_VERSION}.jar`);
  const usersFile = kafkaUsersFileIn(paths.cacheDir);
  const securityFile = path.join(dir, 'data.security');
  // Generated on first use; shared by every stack of this cache directory, like the decision keys.
  const users = (): KafkaUsersFile => ensureKafkaUsersFile(usersFile);

  return {
    id: 'kafka',
    label: `kafka ${KAFKA_VERSION}`,
    external: config.kafka.external,
    endpoint: config.kafka.external ?? `127.0.0.1:${config.kafka.port}`,
    ports: [config.kafka.port, config.kafka.controllerPort],
    marker: propertiesFile,
    isInstalled: () => fs.existsSync(jar),

    async install(progress, signal) {
      progress('downloading via maven (first run only)...');
      await installInto(paths.buildDir, paths.kafkaHome, async (staging) => {
        const out = path.join(staging, 'out');
        fs.mkdirSync(out);
        fs.writeFileSync(path.join(out, 'pom.xml'), POM);
        await runMaven(
          config.mvnBin,
          [
            '-f',
            path.join(out, 'pom.xml'),
            'dependency:copy-dependencies',
            '-DincludeScope=runtime',
            `-DoutputDirectory=${path.join(out, 'lib')}`,
          ],
          staging,
          signal,
        );
        if (!fs.existsSync(path.join(out, 'lib', path.basename(jar)))) {
          throw new Error(`maven finished but ${path.basename(jar)} is missing`);
        }
        fs.rmSync(path.join(out, 'target'), { recursive: true, force: true });
      });
    },

    staleReason() {
      const recorded = fs.existsSync(securityFile) ? fs.readFileSync(securityFile, 'utf8') : undefined;
      if (recorded === securityStamp(users())) return undefined;
      return recorded === undefined
        ? 'it runs on a data directory formatted without SASL/SCRAM users (before ADR 0019)'
        : `it runs on a data directory formatted for other Kafka users than ${usersFile}`;
    },

    async prepare(fresh, progress) {
      const current = users();
      const stamp = securityStamp(current);
      const formatted = fs.existsSync(path.join(dataDir, 'meta.properties'));
      const recorded = fs.existsSync(securityFile) ? fs.readFileSync(securityFile, 'utf8') : undefined;
      if (fresh) {
        fs.rmSync(dataDir, { recursive: true, force: true });
      } else if (formatted && recorded !== stamp) {
        progress(
          recorded === undefined
            ? 'the data directory was formatted without SASL/SCRAM users (before ADR 0019): wiping it and formatting ' +
                'it again with one user per worker (the topics of this local stack are lost)...'
            : `the data directory was formatted for other Kafka users than ${usersFile}: wiping it and formatting ` +
                'it again (the topics of this local stack are lost)...',
        );
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
      fs.mkdirSync(dataDir, { recursive: true });
      const partitions = partitionDirectories(dataDir);
      if (partitions > MANY_PARTITIONS) {
        progress(
          `warning: the data directory holds ${partitions} partitions (topics of earlier runs and tests); each costs ` +
            `the broker heap at start (KAFKA_HEAP_MB=${config.kafka.heapMb}). For a clean slate: ` +
            "`npm run stack -- down` then `npm run stack -- up --fresh` (this wipes the stack's data).",
        );
      }
      // It holds the admin's password: readable by this user only.
      fs.writeFileSync(propertiesFile, serverProperties(config, dataDir, current), { mode: 0o600 });
      fs.chmodSync(propertiesFile, 0o600);
      fs.writeFileSync(log4jFile, LOG4J);
      if (fs.existsSync(path.join(dataDir, 'meta.properties'))) return;
      progress(`formatting KRaft storage with SCRAM-SHA-512 users (${Object.keys(current.users).join(', ')})...`);
      const scram = Object.entries(current.users).flatMap(([name, password]) => [
        '--add-scram',
        `SCRAM-SHA-512=[name=${name},password=${password}]`,
      ]);
      const format = java('kafka.tools.StorageTool', 'format', '-t', randomClusterId(), '-c', propertiesFile);
      await runCommand({ ...format, args: [...format.args, ...scram, '--ignore-formatted'] }, 120_000);
      fs.writeFileSync(securityFile, stamp);
    },

    command: () => java('kafka.Kafka', propertiesFile),

    checkHealth: (endpoint, timeoutMs) =>
      checkKafka(endpoint, timeoutMs, config.kafka.external === undefined ? adminSasl(users()) : config.kafka.sasl),

    async configure(endpoint, progress) {
      if (config.kafka.external !== undefined) return; // an external cluster's users and ACLs are its own
      const admin = stackKafka([endpoint], CONFIGURE_TIMEOUT_MS, adminSasl(users())).admin();
      await admin.connect();
      try {
        await grantKafkaAcls(admin, config.kafka.aclPrefix);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      progress(`ACLs granted to each worker's principal for topic prefix "${config.kafka.aclPrefix}"`);
    },
    diagnose: (log) => diagnoseKafkaLog(log, dataDir, config.kafka.heapMb),
  };
}
