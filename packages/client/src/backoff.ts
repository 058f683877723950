/** Settings of one exponential backoff schedule. */
export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. */
  initialDelayMs: number;
  /** Upper bound no delay exceeds, in ms. */
  maxDelayMs: number;
  /** Growth of the upper bound per attempt. Default 2. */
  multiplier?: number;
  /**
   * Smallest fraction of the upper bound a delay may be: 0 is full jitter (spreads clients best),
   * 0.5 keeps every delay at least half the bound (for waits that must stay long). Default 0.
   */
  floor?: number;
  /** Source of randomness in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** A backoff schedule: each `next()` is a longer (randomised) wait until `reset()`. */
export interface Backoff {
  /** The delay before the next attempt, in ms; advances the schedule. */
  next(): number;
  /** Starts over from the first delay (after a connection stayed up). */
  reset(): void;
}

/**
 * Exponential backoff with jitter: the n-th delay is random in
 * [floor * cap, cap] where cap = min(maxDelayMs, initialDelayMs * multiplier^n).
 * Randomness keeps thousands of tabs that lost the same service from returning in lockstep.
 */
export function createBackoff(options: BackoffOptions): Backoff {
  const { initialDelayMs, maxDelayMs, multiplier = 2, floor = 0, random = Math.random } = options;
  let attempts = 0;
  return {
    next() {
      const cap = Math.min(maxDelayMs, initialDelayMs * multiplier ** attempts);
      attempts++;
      return Math.round(cap * (floor + (1 - floor) * random()));
    },
    reset() {
      attempts = 0;
    },
  };
}
