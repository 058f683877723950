import { defineConfig } from 'vitest/config';

// Node tests of config and API, then the Chromium test of the whole demo (slow, one at a time).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/*.test.ts'],
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
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
