import { defineConfig, type ViteUserConfig } from 'vitest/config';

/**
 * The vitest configuration of a package with Node tests (`test/*.test.ts`) and Chromium tests
 * (`test/browser/*.test.ts`), as two projects: the Node tests first, then the browser tests one
 * file at a time (one browser and one service at a time on a shared machine), with generous
 * limits because real processes start in both. With `typecheck`, the Node project also runs tsc
 * over `test/*.test-d.ts` (a type test that should not compile but does fails the run). Import it
 * as `@huleedu/test-support/vitest`.
 */
export function nodeAndBrowserConfig(options: { typecheck?: boolean } = {}): ViteUserConfig {
  return defineConfig({
    test: {
      projects: [
        {
          test: {
            name: 'node',
            include: ['test/*.test.ts'],
            ...(options.typecheck
              ? {
                  typecheck: {
                    enabled: true,
                    include: ['test/*.test-d.ts'],
                    tsconfig: './tsconfig.json',
                  },
                }
              : {}),
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
}
