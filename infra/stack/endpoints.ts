// Endpoints of the servers Warden's integration tests talk to: from the environment when given
// (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGO_URL), else from the running local stack (its run directory:
// WARDEN_STACK_RUN_DIR, else <cache>/run).
import { cacheDirFrom, endpointEnv, runDirFrom } from './config.js';
import { stackPaths } from './paths.js';
import { isAlive } from './proc.js';
import type { StackEndpoints } from './state.js';
import { readState } from './state.js';

export type { StackEndpoints } from './state.js';

/**
 * Each endpoint comes from its environment variable if set, else from <cache>/run/stack.json
 * (written by `npm run stack -- up` once every server is healthy, ignored if a process it records
 * has died). Returns undefined when some endpoint is in neither, e.g. the stack is down and the
 * variables are unset.
 */
export function readStackEndpoints(): StackEndpoints | undefined {
  const env = endpointEnv();
  if (env.kafkaBrokers !== undefined && env.schemaRegistryUrl !== undefined && env.mongoUrl !== undefined) {
    return { kafkaBrokers: env.kafkaBrokers, schemaRegistryUrl: env.schemaRegistryUrl, mongoUrl: env.mongoUrl };
  }
  let state = readState(stackPaths(cacheDirFrom(), runDirFrom()).stateFile);
  // A stack.json whose servers are gone (e.g. after a reboot) names nothing that answers.
  if (state !== undefined && !Object.values(state.pids).every((pid) => isAlive(pid))) state = undefined;
  const kafkaBrokers = env.kafkaBrokers ?? state?.kafkaBrokers;
  const schemaRegistryUrl = env.schemaRegistryUrl ?? state?.schemaRegistryUrl;
  const mongoUrl = env.mongoUrl ?? state?.mongoUrl;
  if (kafkaBrokers === undefined || schemaRegistryUrl === undefined || mongoUrl === undefined) return undefined;
  return { kafkaBrokers, schemaRegistryUrl, mongoUrl };
}
