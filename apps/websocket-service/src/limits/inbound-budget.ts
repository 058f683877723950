/**
 * How many frames one socket may send: a token bucket of `burst` frames, refilled at `perSecond`.
 * Every inbound frame costs one token: text or binary messages, protocol pings and pongs.
 */
export interface InboundBudget {
  /** Frames a socket may send at once (bucket size). */
  readonly burst: number;
  /** Frames per second a socket may send, sustained (refill rate). */
  readonly perSecond: number;
}

/**
 * The default budget. The client sends one text `ping` every 20 s and nothing else, and answers
 * the service's protocol ping (one per `WEBSOCKET_PING_INTERVAL`), so 20 at once and 5 a second
 * is about 100 times what an honest client uses, while a flood is cut off after 20 frames.
 */
export const DEFAULT_INBOUND_BUDGET: InboundBudget = { burst: 20, perSecond: 5 };

/** The per-socket state of the bucket (kept on the socket itself, see `ClientSocket`). */
export interface InboundBucket {
  /** Tokens left (fractional between refills). */
  inboundTokens: number;
  /** When the tokens were last counted, ms on the clock passed to {@link takeInboundFrame}. */
  inboundCountedAt: number;
}

/**
 * Throws a clear error unless `budget` can admit anything at all; `name` says which budget in the
 * message (`inbound burst must be ...`).
 */
export function checkInboundBudget(budget: InboundBudget, name = 'inbound'): InboundBudget {
  if (!Number.isInteger(budget.burst) || budget.burst < 1) {
    throw new Error(`${name} burst must be a positive integer, got ${budget.burst}`);
  }
  if (!Number.isFinite(budget.perSecond) || budget.perSecond <= 0) {
    throw new Error(`${name} perSecond must be a positive number, got ${budget.perSecond}`);
  }
  return budget;
}

/** Fills a new socket's bucket: a fresh connection may send a whole burst. */
export function fillInboundBucket(
  bucket: InboundBucket,
  budget: InboundBudget,
  nowMs: number,
): void {
  bucket.inboundTokens = budget.burst;
  bucket.inboundCountedAt = nowMs;
}

/**
 * Takes one frame's token from `bucket` at time `nowMs` (a monotonic clock, in ms). Returns
 * false when the socket is over its budget. Two numbers on the socket and no allocation, since
 * it runs for every inbound frame.
 */
export function takeInboundFrame(
  bucket: InboundBucket,
  budget: InboundBudget,
  nowMs: number,
): boolean {
  const tokens = inboundTokensAt(bucket, budget, nowMs);
  bucket.inboundCountedAt = nowMs;
  if (tokens < 1) {
    bucket.inboundTokens = tokens;
    return false;
  }
  bucket.inboundTokens = tokens - 1;
  return true;
}

/** The tokens `bucket` holds at `nowMs`: what it had, refilled since, at most a burst. */
export function inboundTokensAt(
  bucket: InboundBucket,
  budget: InboundBudget,
  nowMs: number,
): number {
  const tokens =
    bucket.inboundTokens + ((nowMs - bucket.inboundCountedAt) * budget.perSecond) / 1000;
  return Math.min(tokens, budget.burst);
}
