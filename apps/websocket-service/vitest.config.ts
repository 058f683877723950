import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/integration/global-setup.ts'],
    // Integration tests start redis-server and the service as child processes on a shared,
    // loaded machine: generous limits, and no more than two files at once.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
