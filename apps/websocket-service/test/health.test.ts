import { describe, expect, it } from 'vitest';
import { checkReadiness, type Readiness, withWorkerSetState } from '../src/health.js';

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

describe('withWorkerSetState', () => {
  const ready: Readiness = { ready: true, reasons: [] };

  it('is ready only when this worker and every configured worker are', () => {
    expect(withWorkerSetState(ready, { readyWorkers: 3, workers: 3, draining: false }, 3)).toEqual({
      ready: true,
      reasons: [],
      workers: { ready: 3, expected: 3 },
    });
    expect(withWorkerSetState(ready, { readyWorkers: 2, workers: 3, draining: false }, 3)).toEqual({
      ready: false,
      reasons: ['workers_not_ready'],
      workers: { ready: 2, expected: 3 },
    });
  });

  it("keeps this worker's own reasons and adds the primary's draining once", () => {
    const local = checkReadiness({ redisConnected: () => false, draining: () => true });
    expect(withWorkerSetState(local, { readyWorkers: 0, workers: 2, draining: true }, 2)).toEqual({
      ready: false,
      reasons: ['redis_disconnected', 'draining', 'workers_not_ready'],
      workers: { ready: 0, expected: 2 },
    });
    expect(
      withWorkerSetState(ready, { readyWorkers: 2, workers: 2, draining: true }, 2).reasons,
    ).toEqual(['draining']);
  });

  it('is not ready before the primary first reported', () => {
    expect(withWorkerSetState(ready, undefined, 4)).toEqual({
      ready: false,
      reasons: ['workers_not_ready'],
      workers: { ready: 0, expected: 4 },
    });
  });
});
