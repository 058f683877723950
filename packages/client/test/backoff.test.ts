import { describe, expect, it } from 'vitest';
import { createBackoff } from '../src/backoff.js';

describe('createBackoff', () => {
  it('doubles the upper bound per attempt until the maximum (random at its top)', () => {
    const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, random: () => 1 });
    const delays = Array.from({ length: 6 }, () => backoff.next());
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('uses full jitter: a delay can be anywhere from 0 to the bound', () => {
    const low = createBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, random: () => 0 });
    expect([low.next(), low.next(), low.next()]).toEqual([0, 0, 0]);
    const mid = createBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, random: () => 0.5 });
    expect([mid.next(), mid.next(), mid.next()]).toEqual([50, 100, 200]);
  });

  it('spreads clients: many schedules with real randomness do not agree on one delay', () => {
    const delays = new Set(
      Array.from({ length: 50 }, () =>
        createBackoff({ initialDelayMs: 10_000, maxDelayMs: 10_000 }).next(),
      ),
    );
    expect(delays.size).toBeGreaterThan(40);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(10_000);
    }
  });

  it('keeps every delay at least floor * bound when a floor is set', () => {
    const backoff = createBackoff({
      initialDelayMs: 1_000,
      maxDelayMs: 8_000,
      floor: 0.5,
      random: () => 0,
    });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([
      500, 1_000, 2_000, 4_000,
    ]);
  });

  it('starts over after reset', () => {
    const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, random: () => 1 });
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });

  it('never exceeds the maximum, even after very many attempts', () => {
    const backoff = createBackoff({
      initialDelayMs: 100,
      maxDelayMs: 1_000,
      multiplier: 3,
      random: () => 1,
    });
    let last = 0;
    for (let i = 0; i < 2_000; i++) last = backoff.next();
    expect(last).toBe(1_000);
  });
});
