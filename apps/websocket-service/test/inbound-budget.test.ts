import { describe, expect, it } from 'vitest';
import {
  checkInboundBudget,
  DEFAULT_INBOUND_BUDGET,
  fillInboundBucket,
  type InboundBucket,
  takeInboundFrame,
} from '../src/limits/inbound-budget.js';

/** A bucket filled at t=0 and a function taking `n` frames at time `t` (ms). */
function bucket(budget = { burst: 4, perSecond: 2 }) {
  const state: InboundBucket = { inboundTokens: 0, inboundCountedAt: 0 };
  fillInboundBucket(state, budget, 0);
  const take = (t: number, n = 1) => {
    let admitted = 0;
    for (let i = 0; i < n; i++) if (takeInboundFrame(state, budget, t)) admitted++;
    return admitted;
  };
  return { state, take };
}

describe('inbound budget (token bucket)', () => {
  it('admits a burst at once, then refuses until tokens refill', () => {
    const { take } = bucket();
    expect(take(0, 10)).toBe(4);
    expect(take(100)).toBe(0); // 0.2 of a token
    expect(take(500)).toBe(1); // 1 token after 500 ms at 2/s
    expect(take(500)).toBe(0);
  });

  it('refills at the sustained rate and never beyond the burst', () => {
    const { take } = bucket();
    take(0, 4);
    expect(take(60_000, 100)).toBe(4); // a long pause refills the bucket, not more
    // Sustained: one frame every 500 ms at 2/s is always admitted.
    for (let t = 60_500; t < 120_000; t += 500) expect(take(t)).toBe(1);
  });

  it('keeps a refused frame from costing a token', () => {
    const { take } = bucket({ burst: 1, perSecond: 1 });
    expect(take(0)).toBe(1);
    // Refused at 900 ms, but the 0.9 tokens it found are kept: at 1000 ms one is whole.
    expect(take(900)).toBe(0);
    expect(take(1000)).toBe(1);
  });

  it('gives an honest client a hundredfold margin by default', () => {
    // The client: one text ping every 20 s, plus one protocol pong per 30 s keepalive.
    const { take } = bucket(DEFAULT_INBOUND_BUDGET);
    let admitted = 0;
    for (let t = 0; t < 3_600_000; t += 10_000) admitted += take(t);
    expect(admitted).toBe(360);
    // Even 20 frames at once, after a reconnect, pass.
    expect(take(3_600_000, 20)).toBe(20);
  });

  it('refuses budgets that could never admit a frame', () => {
    expect(() => checkInboundBudget({ burst: 0, perSecond: 5 })).toThrow(
      'inbound burst must be a positive integer',
    );
    expect(() => checkInboundBudget({ burst: 20, perSecond: 0 })).toThrow(
      'inbound perSecond must be a positive number',
    );
    expect(checkInboundBudget(DEFAULT_INBOUND_BUDGET)).toBe(DEFAULT_INBOUND_BUDGET);
  });
});
