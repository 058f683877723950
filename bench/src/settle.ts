import { sleep } from './clock.js';

/** How often the server's CPU is read while waiting for it to settle, ms. */
const INTERVAL_MS = 250;
/** Share of one core a settled server may still use (timers, a heartbeat, a GC). */
const QUIET_SHARE = 0.05;

/** How waiting for a quiet server ended. */
export interface QuietResult {
  /** True when the server's CPU stopped moving before the bound. */
  quiet: boolean;
  /** Time spent after the fixed pause, ms. */
  waitedMs: number;
}

/**
 * Waits `settleMs`, then until the server's CPU stops moving: a 250 ms interval in which it used
 * at most 5 % of a core, or `maxMs` in all. So work the server still does for the last phase
 * (closing sockets, unsubscribing, collecting their garbage) stays out of the next one.
 */
export async function waitForQuietCpu(
  cpuSeconds: () => number,
  settleMs: number,
  maxMs = 10_000,
): Promise<QuietResult> {
  await sleep(settleMs);
  const started = Date.now();
  let before = cpuSeconds();
  for (let poll = 0; poll < Math.ceil(maxMs / INTERVAL_MS); poll++) {
    await sleep(INTERVAL_MS);
    const now = cpuSeconds();
    if (now - before <= (INTERVAL_MS / 1000) * QUIET_SHARE) {
      return { quiet: true, waitedMs: Date.now() - started };
    }
    before = now;
  }
  return { quiet: false, waitedMs: Date.now() - started };
}
