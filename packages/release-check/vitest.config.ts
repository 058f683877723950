import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A registry, package installs, redis-server and service processes on a shared machine.
    testTimeout: 60_000,
    hookTimeout: 240_000,
    // One file at a time: each starts its own processes and the consumer test installs packages.
    fileParallelism: false,
  },
});
