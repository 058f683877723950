import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Runs tsc over test/types.test-d.ts: a payload that should not compile but does fails the run.
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    // Real redis-server processes and child processes on a shared 2-core machine: be generous.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
