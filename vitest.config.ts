import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Forks on a loaded 2-core machine can take more than the default 10 s to exit after their
    // last file; waiting longer keeps "Timeout terminating forks worker" out of the output.
    teardownTimeout: 60_000,
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
