import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_LOG_KINDS, OVERFLOW_LOG_KIND, RateLimitedLog } from '../src/rate-limited-log.js';
import { captureLogger } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-29T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(linesPerInterval = 3, intervalMs = 1000) {
  const log = captureLogger('info');
  return { log, limited: new RateLimitedLog({ logger: log.logger, linesPerInterval, intervalMs }) };
}

describe('RateLimitedLog', () => {
  it('writes N lines of a kind per interval, then one line saying how many it suppressed', () => {
    const { log, limited } = setup();
    for (let i = 0; i < 1000; i++) limited.warn('malformed', { i }, 'dropped malformed payload');
    expect(log.lines.map((l) => l.i)).toEqual([0, 1, 2]);
    expect(log.lines[0]).toMatchObject({ level: 'warn', kind: 'malformed' });
    expect(limited.suppressedTotal).toBe(997);

    vi.advanceTimersByTime(999);
    expect(log.lines).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(log.lines).toHaveLength(4);
    expect(log.lines[3]).toMatchObject({
      level: 'warn',
      kind: 'malformed',
      suppressed: 997,
      intervalMs: 1000,
      msg: 'suppressed 997 more "dropped malformed payload" lines',
    });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives every kind its own budget', () => {
    const { log, limited } = setup(2);
    for (let i = 0; i < 5; i++) {
      limited.warn('rate_limited', {}, 'closed a flooding socket');
      limited.info('slow_consumer', {}, 'dropped a slow consumer');
    }
    expect(log.lines.filter((l) => l.kind === 'rate_limited')).toHaveLength(2);
    expect(log.lines.filter((l) => l.kind === 'slow_consumer')).toHaveLength(2);
    vi.advanceTimersByTime(1000);
    const summaries = log.lines.filter((l) => l.suppressed !== undefined);
    expect(summaries.map((l) => [l.kind, l.level, l.suppressed])).toEqual([
      ['rate_limited', 'warn', 3],
      ['slow_consumer', 'info', 3],
    ]);
  });

  it('opens a fresh budget once the interval is over', () => {
    const { log, limited } = setup(2);
    for (let i = 0; i < 4; i++) limited.warn('k', { round: 1 }, 'm');
    vi.advanceTimersByTime(1000); // summary of round 1
    for (let i = 0; i < 4; i++) limited.warn('k', { round: 2 }, 'm');
    expect(log.lines.filter((l) => l.round === 2)).toHaveLength(2);
    vi.advanceTimersByTime(1000);
    expect(log.lines.filter((l) => l.suppressed !== undefined).map((l) => l.suppressed)).toEqual([
      2, 2,
    ]);
  });

  it('writes no summary and keeps no timer when nothing was suppressed', () => {
    const { log, limited } = setup(3);
    limited.warn('k', {}, 'once');
    limited.warn('k', {}, 'twice');
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5000);
    // A later window has its full budget again.
    for (let i = 0; i < 3; i++) limited.warn('k', {}, 'again');
    expect(log.lines).toHaveLength(5);
    expect(log.lines.some((l) => l.suppressed !== undefined)).toBe(false);
  });

  it('writes pending summaries at close and leaves no timer behind', () => {
    const { log, limited } = setup(1);
    limited.error('k', {}, 'boom');
    limited.error('k', {}, 'boom');
    limited.error('k', {}, 'boom');
    limited.close();
    expect(log.lines.at(-1)).toMatchObject({ level: 'error', kind: 'k', suppressed: 2 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('bounds the kinds it tracks: a caller passing unbounded kinds shares one budget', () => {
    const { log, limited } = setup(1);
    for (let i = 0; i < MAX_LOG_KINDS + 50; i++) limited.warn(`kind-${i}`, {}, 'm');
    // The first MAX_LOG_KINDS kinds write one line each; the rest share the overflow budget.
    expect(log.lines).toHaveLength(MAX_LOG_KINDS + 1);
    expect(limited.suppressedTotal).toBe(49);
    vi.advanceTimersByTime(1000);
    expect(log.lines.at(-1)).toMatchObject({ kind: OVERFLOW_LOG_KIND, suppressed: 49 });
  });

  it('refuses a budget that could not work', () => {
    const { logger } = captureLogger();
    expect(() => new RateLimitedLog({ logger, linesPerInterval: 0 })).toThrow(
      'linesPerInterval must be a positive integer',
    );
    expect(() => new RateLimitedLog({ logger, intervalMs: 0 })).toThrow(
      'intervalMs must be a positive number',
    );
  });
});
