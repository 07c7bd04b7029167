// Endpoints of the servers Warden's integration tests talk to: from the environment when given
// (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGO_URL), else from the running local stack (its run directory:
// WARDEN_STACK_RUN_DIR, else <cache>/run).
import { readKafkaUsersFile } from '@warden/runtime';
import { cacheDirFrom, endpointEnv, runDirFrom } from './config.js';
import { stackPaths } from './paths.js';
import { isAlive } from './proc.js';
import type { KafkaSasl, StackEndpoints, StackState } from './state.js';
import { readState } from './state.js';

export type { KafkaSasl, StackEndpoints } from './state.js';

/** The admin credentials of a stack whose Kafka requires SASL (from its users file), else undefined. */
export function stackAdminSasl(state: StackState): KafkaSasl | undefined {
  if (state.kafkaUsersFile === undefined) return undefined;
  const users = readKafkaUsersFile(state.kafkaUsersFile);
  return { mechanism: users.mechanism, username: 'admin', password: users.users.admin };
}

/** The endpoints a stack's state records, with its admin's Kafka credentials and users file when it has them. */
export function endpointsOfState(state: StackState): StackEndpoints {
  const kafkaSasl = stackAdminSasl(state);
  return {
    kafkaBrokers: state.kafkaBrokers,
    schemaRegistryUrl: state.schemaRegistryUrl,
    mongoUrl: state.mongoUrl,
    ...(kafkaSasl === undefined ? {} : { kafkaSasl }),
    ...(state.kafkaUsersFile === undefined ? {} : { kafkaUsersFile: state.kafkaUsersFile }),
  };
}

/**
 * Each endpoint comes from its environment variable if set, else from <cache>/run/stack.json
 * (written by `npm run stack -- up` once every server is healthy, ignored if a process it records
 * has died). Returns undefined when some endpoint is in neither, e.g. the stack is down and the
 * variables are unset. Kafka's credentials come with its brokers: KAFKA_SASL_* with KAFKA_BROKERS, the stack's
 * admin (its users file) with the stack's brokers.
 */
export function readStackEndpoints(): StackEndpoints | undefined {
  const env = endpointEnv();
  const sasl = env.kafkaSasl === undefined ? {} : { kafkaSasl: env.kafkaSasl };
  if (env.kafkaBrokers !== undefined && env.schemaRegistryUrl !== undefined && env.mongoUrl !== undefined) {
    return {
      kafkaBrokers: env.kafkaBrokers,
      schemaRegistryUrl: env.schemaRegistryUrl,
      mongoUrl: env.mongoUrl,
      ...sasl,
    };
  }
  let state = readState(stackPaths(cacheDirFrom(), runDirFrom()).stateFile);
  // A stack.json whose servers are gone (e.g. after a reboot) names nothing that answers.
  if (state !== undefined && !Object.values(state.pids).every((pid) => isAlive(pid))) state = undefined;
  const kafkaBrokers = env.kafkaBrokers ?? state?.kafkaBrokers;
  const schemaRegistryUrl = env.schemaRegistryUrl ?? state?.schemaRegistryUrl;
  const mongoUrl = env.mongoUrl ?? state?.mongoUrl;
  if (kafkaBrokers === undefined || schemaRegistryUrl === undefined || mongoUrl === undefined) return undefined;
  const stackSasl = env.kafkaBrokers === undefined && state !== undefined ? stackAdminSasl(state) : undefined;
  const kafkaSasl = env.kafkaSasl ?? stackSasl;
  const usersFile = stackSasl === undefined ? undefined : state?.kafkaUsersFile;
  return {
    kafkaBrokers,
    schemaRegistryUrl,
    mongoUrl,
    ...(kafkaSasl === undefined ? {} : { kafkaSasl }),
    ...(usersFile === undefined ? {} : { kafkaUsersFile: usersFile }),
  };
}
