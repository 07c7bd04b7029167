import { defineConfig } from 'vitest/config';

/** Workspace packages resolve to their TypeScript sources through the "@warden/source" export condition. */
const resolve = { conditions: ['@warden/source', 'node', 'import', 'default'] };
const ssr = {
  resolve: { conditions: ['@warden/source', 'node', 'import', 'default'], externalConditions: ['@warden/source'] },
};

/**
 * Unit and integration files run two at a time (these machines have two cores; integration tests use unique topics
 * and group ids, and the files that kill servers have private stacks). End-to-end files run after them, one at a
 * time: each starts the workers as processes and several measure a whole pipeline. One project with
 * `fileParallelism: false` and no group order made vitest 4 run every file of every project one at a time.
 */
const PARALLEL_FILES = 2;

export default defineConfig({
  resolve,
  ssr,
  test: {
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          include: ['**/*.unit.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          maxWorkers: PARALLEL_FILES,
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'int',
          include: ['**/*.int.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          maxWorkers: PARALLEL_FILES,
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'e2e',
          include: ['**/*.e2e.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
