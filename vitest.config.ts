import { defineConfig } from 'vitest/config';

// Three projects: `node` (unit and end-to-end tests on Node 24), `workers` (the same app inside workerd,
// configured in test/workers/vitest.config.ts) and `workers-postgres` (the postgres grant inside workerd
// against a local PostgreSQL server, test/workers-postgres/vitest.config.ts).
export default defineConfig({
  test: {
    // postgres.js 3.4.9's Workers socket (cf/polyfills.js) emits 'error' with no listener left once a client
    // it ended has closed: an unhandled "Stream was cancelled." after the work is done (workers-postgres).
    // Only that one is let through; any other unhandled error still fails the run.
    onUnhandledError: (error) =>
      !(error.message === 'Stream was cancelled.' && /postgres[/\\]cf[/\\]polyfills\.js/.test(String(error.stack ?? ''))),
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
      'test/workers-postgres/vitest.config.ts',
    ],
  },
});
