import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceEntry } from '@huleedu/test-support';
import { BenchError } from './errors.js';

// This file runs from bench/src (tests) or bench/dist (built): either way the package root is one up.
const here = dirname(fileURLToPath(import.meta.url));

/** The bench package folder. */
export const benchRoot = resolve(here, '..');

/** The monorepo root. */
export const repoRoot = resolve(benchRoot, '..');

/**
 * Where `pnpm bench` starts the service from unless told otherwise: the built
 * `@huleedu/websocket-service/main`, found by package name from this package. Throws a
 * {@link BenchError} that says to build it when it is missing.
 */
export function builtServiceEntry(): string {
  try {
    return serviceEntry(benchRoot);
  } catch (error) {
    throw new BenchError(
      'target_failed',
      `the service is not built (${(error as Error).message.split(' (')[0]}): run pnpm build, or leave it out with --targets relay,socketio`,
    );
  }
}

/**
 * The built JavaScript of one of this package's process entry points (load-generator worker,
 * reference relay, Socket.IO server). Child processes always run built code, so tests that import
 * the TypeScript sources still need `pnpm --filter @huleedu/bench build` first.
 */
export function benchScript(name: string): string {
  const path = resolve(benchRoot, 'dist', `${name}.js`);
  if (!existsSync(path)) {
    throw new BenchError(
      'target_failed',
      `${path} is missing: build the bench first (pnpm --filter @huleedu/bench build)`,
    );
  }
  return path;
}
