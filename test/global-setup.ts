/**
 * vitest global setup for integration and end-to-end tests: one broker, one registry and one MongoDB-wire server
 * per test run. Endpoints come from KAFKA_BROKERS / SCHEMA_REGISTRY_URL / MONGO_URL when set, else from the
 * running local stack, else the local stack is started (and stopped afterwards), else, where a Docker engine
 * answers, testcontainers starts the same servers.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { readStackEndpoints, type StackEndpoints } from '../infra/stack/endpoints.js';
import { startContainers, dockerAvailable } from './support/containers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEndpoints;
  }
}

const root = resolve(import.meta.dirname, '..');

function stackCommand(command: 'up' | 'down'): boolean {
  const result = spawnSync(process.execPath, ['--import', 'tsx', resolve(root, 'infra/stack/stack.ts'), command], {
    cwd: root,
    stdio: 'inherit',
  });
  return result.status === 0;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let teardown = async (): Promise<void> => {};
  let endpoints = readStackEndpoints();
  if (endpoints === undefined) {
    if (await dockerAvailable()) {
      const started = await startContainers();
      endpoints = started.endpoints;
      teardown = started.stop;
    } else {
      process.stdout.write('[global-setup] no endpoints configured and no stack running: starting the local stack\n');
      if (!stackCommand('up'))
        throw new Error('the local stack did not start; see the output above (npm run stack -- status)');
      endpoints = readStackEndpoints();
      teardown = async () => void stackCommand('down');
    }
  }
  if (endpoints === undefined) throw new Error('no Kafka / schema registry / MongoDB endpoints available');
  project.provide('stack', endpoints);
  return teardown;
}
