import { describe, expect, it } from 'vitest';
import { checkReadiness } from '../src/health.js';

describe('checkReadiness', () => {
  it('is ready only with Redis connected and not draining, and names every reason otherwise', () => {
    const at = (redis: boolean, draining: boolean) =>
      checkReadiness({ redisConnected: () => redis, draining: () => draining });
    expect(at(true, false)).toEqual({ ready: true, reasons: [] });
    expect(at(false, false)).toEqual({ ready: false, reasons: ['redis_disconnected'] });
    expect(at(true, true)).toEqual({ ready: false, reasons: ['draining'] });
    expect(at(false, true)).toEqual({ ready: false, reasons: ['redis_disconnected', 'draining'] });
  });
});
