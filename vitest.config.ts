import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that start a whole stack of their own (their own Temporal dev server, worker and API
 * processes, a private PostgreSQL) and load both cores for minutes. Run beside the rest they starve
 * the in-process workers of the other suites until workflow tasks time out; so they run after the
 * rest, one at a time.
 */
const WHOLE_STACK = ['test/soak.test.ts', 'test/bench.test.ts', 'test/temporal-outage.test.ts'];

export default defineConfig({
  test: {
    // One Temporal dev server and one workflow bundle per project (see test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    // Forks, not threads: the Temporal native bridge crashes in worker threads.
    pool: 'forks',
    reporters: ['default', './test/plain-summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...WHOLE_STACK], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'whole-stack', include: WHOLE_STACK, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
