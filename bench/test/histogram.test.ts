import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../src/histogram.js';

describe('LatencyHistogram', () => {
  it('answers percentiles within about 1 % over a wide range', () => {
    const histogram = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) histogram.record(i / 100); // 0.01 ms .. 100 ms
    expect(histogram.count).toBe(10_000);
    expect(Math.abs(histogram.percentile(50) - 50) / 50).toBeLessThan(0.01);
    expect(Math.abs(histogram.percentile(99) - 99) / 99).toBeLessThan(0.01);
    expect(histogram.percentile(100)).toBe(100);
    expect(histogram.maxMs()).toBe(100);
    expect(histogram.mean()).toBeCloseTo(50.005, 6);
  });

  it('keeps microsecond resolution below 1 ms', () => {
    const histogram = new LatencyHistogram();
    for (const ms of [0.1, 0.2, 0.3, 0.4]) histogram.record(ms);
    expect(histogram.percentile(50)).toBeCloseTo(0.2, 2);
  });

  it('merges snapshots from several processes as if recorded in one', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 0; i < 1000; i++) {
      const value = (i % 37) * 1.7;
      (i % 2 === 0 ? a : b).record(value);
      all.record(value);
    }
    const merged = new LatencyHistogram();
    merged.merge(JSON.parse(JSON.stringify(a.snapshot())));
    merged.merge(JSON.parse(JSON.stringify(b.snapshot())));
    expect(merged.count).toBe(1000);
    for (const p of [1, 50, 90, 99, 100]) expect(merged.percentile(p)).toBe(all.percentile(p));
  });

  it('reads 0 when empty and clamps clock noise below zero', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.percentile(99)).toBe(0);
    histogram.record(-0.05);
    expect(histogram.percentile(50)).toBe(0);
    histogram.reset();
    expect(histogram.count).toBe(0);
  });
});
