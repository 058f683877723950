import { defineConfig } from 'vitest/config';

// Two projects: fast Node tests against in-test sockets and the real service, then the Chromium
// tests (slow: real browser, service restarts, heartbeat bounds), one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/*.test.ts'],
          // Runs tsc over test/*.test-d.ts: a hook call that should not compile but does fails.
          typecheck: { enabled: true, include: ['test/*.test-d.ts'], tsconfig: './tsconfig.json' },
          testTimeout: 30_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One browser and one service at a time: the machine has two shared cores.
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
