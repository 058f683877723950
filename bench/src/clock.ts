import { performance } from 'node:perf_hooks';

/**
 * Wall-clock time in milliseconds with sub-millisecond precision. Every process on this machine
 * reads the same clock, so a timestamp written by the publisher can be subtracted from one read by
 * a load-generator process.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Monotonic time in microseconds: the clock V8 stamps CPU profiles with, so phase windows recorded
 * here can cut a `.cpuprofile` of another process into phases.
 */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
