import { sleep } from './clock.js';
import type { CountsResult } from './loadgen-protocol.js';

/** How waiting for deliveries ended. */
export interface DrainResult {
  counts: CountsResult;
  /** True when every expected delivery arrived. */
  complete: boolean;
}

/**
 * Polls delivery counts until `expected` deliveries arrived, or nothing new arrived for
 * `stallMs`, or `maxMs` passed in all. What is missing then counts as lost.
 */
export async function waitForDeliveries(
  counts: () => Promise<CountsResult>,
  expected: number,
  stallMs: number,
  maxMs: number = Math.max(stallMs * 20, 120_000),
): Promise<DrainResult> {
  const started = Date.now();
  let last = await counts();
  let progressAt = Date.now();
  while (last.delivered < expected) {
    const now = Date.now();
    if (now - progressAt > stallMs || now - started > maxMs) break;
    await sleep(100);
    const next = await counts();
    if (next.delivered > last.delivered) progressAt = Date.now();
    last = next;
  }
  return { counts: last, complete: last.delivered >= expected };
}
