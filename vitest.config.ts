import { defineConfig } from 'vitest/config';

/** Workspace packages resolve to their TypeScript sources through the "@warden/source" export condition. */
const resolve = { conditions: ['@warden/source', 'node', 'import', 'default'] };
const ssr = {
  resolve: { conditions: ['@warden/source', 'node', 'import', 'default'], externalConditions: ['@warden/source'] },
};

export default defineConfig({
  resolve,
  ssr,
  test: {
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
    projects: [
      {
        resolve,
        ssr,
        test: { name: 'unit', include: ['**/*.unit.test.ts'], exclude: ['**/node_modules/**', '**/dist/**'] },
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
          fileParallelism: false,
        },
      },
    ],
  },
});
