import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCliConfig } from '../src/config.js';

/** A stack.json as `npm run stack -- up` writes it, in a fresh directory. */
function stackDir(brokers: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-cli-stack-'));
  writeFileSync(
    join(dir, 'stack.json'),
    JSON.stringify({
      kafkaBrokers: brokers,
      schemaRegistryUrl: 'http://127.0.0.1:48081/apis/ccompat/v7',
      mongoUrl: 'mongodb://127.0.0.1:48017/',
    }),
  );
  return dir;
}

describe("the CLI's endpoints", () => {
  it("come from the stack named by WARDEN_STACK_RUN_DIR, not the cache's default stack", () => {
    const cache = mkdtempSync(join(tmpdir(), 'warden-cli-cache-'));
    const second = stackDir('127.0.0.1:48092');
    const config = loadCliConfig({ WARDEN_CACHE_DIR: cache, WARDEN_STACK_RUN_DIR: second }, {}, false);
    expect(config.endpointSource).toBe('local stack');
    expect(config.runtime.brokers).toEqual(['127.0.0.1:48092']);
    expect(config.workerEnv.MONGO_URL).toBe('mongodb://127.0.0.1:48017/');
  });

  it('come from <cache>/run/stack.json without WARDEN_STACK_RUN_DIR, and from the defaults with neither', () => {
    const cache = mkdtempSync(join(tmpdir(), 'warden-cli-cache-'));
    expect(loadCliConfig({ WARDEN_CACHE_DIR: cache }, {}, false).endpointSource).toBe('defaults');
    const run = stackDir('127.0.0.1:49092');
    const withRun = mkdtempSync(join(tmpdir(), 'warden-cli-cache-'));
    // the cache's own run directory
    renameSync(run, join(withRun, 'run'));
    const config = loadCliConfig({ WARDEN_CACHE_DIR: withRun }, {}, false);
    expect(config.runtime.brokers).toEqual(['127.0.0.1:49092']);
  });
});
