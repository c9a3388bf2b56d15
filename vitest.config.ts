import { defineConfig } from 'vitest/config';

// Two projects: `node` (unit and end-to-end tests on Node 24) and `workers` (the same app inside workerd,
// configured in test/workers/vitest.config.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          // node:sqlite's ExperimentalWarning would otherwise repeat in every worker's output.
          execArgv: ['--disable-warning=ExperimentalWarning'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      'test/workers/vitest.config.ts',
    ],
  },
});
