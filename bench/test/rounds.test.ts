import { describe, expect, it } from 'vitest';
import {
  connectRound,
  type FixedRateRound,
  medianOfKnown,
  medianRound,
  summarizeBurst,
  summarizeConnect,
  summarizeFixedRate,
} from '../src/rounds.js';
import type { DeliverySummary } from '../src/scenario.js';
import { deliveryRound } from './delivery-round.js';

describe('medianRound', () => {
  it('picks the middle round, the lower middle of an even count', () => {
    expect(medianRound([3, 1, 2], (v) => v)).toBe(2);
    expect(medianRound([4, 1, 3, 2], (v) => v)).toBe(2);
    expect(() => medianRound([], (v: number) => v)).toThrow(RangeError);
  });

  it('leaves the unknown values out, and is unknown only when every value is', () => {
    expect(medianOfKnown([null, 3, 1, null, 2])).toBe(2);
    expect(medianOfKnown([null, null])).toBeNull();
    expect(medianOfKnown([])).toBeNull();
  });
});

describe('summarizeConnect', () => {
  const round = (opened: number, cpuSeconds: number, durationMs: number) =>
    connectRound({ opened, failed: 10_000 - opened, failures: {}, durationMs, cpuSeconds });

  it("works out each round's own rates", () => {
    expect(round(10_000, 4, 8000)).toMatchObject({ perCpuSecond: 2500, perSecond: 1250 });
    expect(round(9000, 0, 8000).perCpuSecond).toBeNull();
  });

  it('takes each figure as the median of the rounds own, so the two can come from different rounds', () => {
    // Per CPU-second 2,500 / 4,000 / 3,000: median 3,000 (the third round); per second
    // 1,250 / 1,000 / 2,000: median 1,250 (the first round).
    const rounds = [round(10_000, 4, 8000), round(10_000, 2.5, 10_000), round(9000, 3, 4500)];
    expect(summarizeConnect(rounds)).toEqual({ perCpuSecond: 3000, perSecond: 1250 });
  });

  it('leaves out rounds whose CPU did not register, and says so when none did', () => {
    expect(summarizeConnect([round(100, 0, 100), round(100, 0.05, 100)]).perCpuSecond).toBe(2000);
    expect(summarizeConnect([round(100, 0, 100)]).perCpuSecond).toBeNull();
  });
});

describe('summarizeBurst', () => {
  // Delivered/s median: round b (20,000/s), which spent 0.2 CPU-s: 5,000 per CPU-second. The
  // rounds' own per-CPU-second figures are 10,000 / 5,000 / 8,000 / 12,500 / 4,000: median 8,000.
  const rounds = [
    deliveryRound({ deliveredPerSecond: 10_000, cpuSeconds: 0.1 }),
    deliveryRound({ deliveredPerSecond: 20_000, cpuSeconds: 0.2 }),
    deliveryRound({ deliveredPerSecond: 30_000, cpuSeconds: 0.125 }),
    deliveryRound({ deliveredPerSecond: 25_000, cpuSeconds: 0.08 }),
    deliveryRound({ deliveredPerSecond: 15_000, cpuSeconds: 0.25, lost: 3, delivered: 997 }),
  ];

  it('takes deliveries per CPU-second as the median of each round own, not the median round', () => {
    const burst = summarizeBurst(rounds, null);
    expect(burst.deliveredPerSecond).toBe(20_000);
    expect(burst.cpuSeconds).toBe(0.2);
    expect(burst.deliveriesPerCpuSecond).toBe(8000);
    expect(burst.rounds).toEqual([10_000, 20_000, 30_000, 25_000, 15_000]);
    expect(burst.cpuRounds).toEqual([10_000, 5000, 8000, 12_500, 3988]);
    expect(burst.lostAllRounds).toBe(3);
    expect(burst.warmupDeliveredPerSecond).toBeNull();
  });

  it('keeps the warm-up out of every median but counts what it lost', () => {
    const warmup = deliveryRound({
      deliveredPerSecond: 1000,
      cpuSeconds: 5,
      lost: 2,
      delivered: 998,
    });
    const burst = summarizeBurst(rounds, warmup);
    expect(burst.deliveredPerSecond).toBe(20_000);
    expect(burst.deliveriesPerCpuSecond).toBe(8000);
    expect(burst.rounds).toHaveLength(5);
    expect(burst.warmupDeliveredPerSecond).toBe(1000);
    expect(burst.lostAllRounds).toBe(5);
  });

  it('leaves out rounds whose CPU did not register, and says so when none did', () => {
    const some = summarizeBurst(
      [deliveryRound({ cpuSeconds: 0 }), deliveryRound({ cpuSeconds: 0.5 })],
      null,
    );
    expect(some.cpuRounds).toEqual([null, 2000]);
    expect(some.deliveriesPerCpuSecond).toBe(2000);
    const none = summarizeBurst([deliveryRound({ cpuSeconds: 0 })], null);
    expect(none.deliveriesPerCpuSecond).toBeNull();
  });
});

describe('summarizeFixedRate', () => {
  const rate = (fields: Partial<DeliverySummary>, publishMs = 1000): FixedRateRound => ({
    ...deliveryRound({ durationMs: 1000, deliveredPerSecond: 1000, ...fields }),
    publishMs,
  });

  it('reports the latency of the median round by p99 and sums the counts of all', () => {
    const fixed = summarizeFixedRate(
      [
        rate({ p50Ms: 1, p99Ms: 300, maxMs: 400 }),
        rate({ p50Ms: 2, p99Ms: 6, maxMs: 12, lost: 1, delivered: 999 }),
        rate({ p50Ms: 3, p99Ms: 5, maxMs: 50, lost: 4, delivered: 996 }),
      ],
      500,
    );
    expect(fixed).toMatchObject({ p50Ms: 2, p99Ms: 6, maxMs: 12 });
    expect(fixed.roundsP99Ms).toEqual([300, 6, 5]);
    expect(fixed).toMatchObject({ published: 1500, expected: 3000, delivered: 2995, lost: 5 });
    expect(fixed.durationMs).toBe(3000);
    expect(fixed.deliveredPerSecond).toBeCloseTo(2995 / 3);
    expect(fixed.cpuSeconds).toBeCloseTo(0.3);
    expect(fixed.rate).toBe(500);
    expect(fixed.achievedRate).toBeCloseTo(500);
  });
});
