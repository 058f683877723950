import { describe, expect, it } from 'vitest';
import { medianOfRatios } from '../src/paired-rate.js';
import { medianOfKnown } from '../src/rounds.js';

describe('medianOfRatios', () => {
  it('pairs the rounds: a slow round slows both sides and cancels out', () => {
    // Round 2 ran while the machine was busy: both p99s rose, the ratio did not.
    const subject = [10, 40, 11];
    const baseline = [10, 40, 10];
    expect(medianOfRatios(subject, baseline)).toBe(1);
    // The ratio of the medians (11 / 10) is not what the rounds say.
    expect(medianOfKnown(subject)! / medianOfKnown(baseline)!).toBeCloseTo(1.1);
  });

  it('takes the lower middle of an even count, a ratio some round really had', () => {
    expect(medianOfRatios([1, 2, 3, 4], [1, 1, 1, 1])).toBe(2);
  });

  it('leaves out rounds without a positive figure on either side, and unmatched rounds', () => {
    expect(medianOfRatios([12, 0, 9, 5], [6, 3, 3])).toBe(2);
    expect(medianOfRatios([12, 0, 9, 5, 8], [6, 3, 3, 1])).toBe(3);
    expect(medianOfRatios([0], [1])).toBeNull();
    // A connect round whose CPU did not register (null) says nothing.
    expect(medianOfRatios([null, 3000, 4400], [2000, 3000, 4000])).toBe(1);
    expect(medianOfRatios([], [])).toBeNull();
  });
});
