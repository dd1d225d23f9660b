import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Temporal dev server and one workflow bundle for the whole run (see test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    // Forks, not threads: the Temporal native bridge crashes in worker threads.
    pool: 'forks',
    reporters: ['default', './test/plain-summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
