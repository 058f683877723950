import { waitFor } from '@huleedu/test-support';
import { describe, expect, it } from 'vitest';
import { RevocationSweep } from '../src/revocation/sweep.js';
import { captureLogger } from './helpers.js';

interface Fake {
  name: string;
  issuedAt: number | undefined;
}

function setup(revoked: Map<string, number>, sockets: Record<string, Fake[]>) {
  const closed: string[] = [];
  let reads = 0;
  let failures = 0;
  const sweep = new RevocationSweep<Fake>({
    revokedBefore: async (userId) => {
      reads++;
      if (failures > 0) {
        failures--;
        throw new Error('Connection is closed.');
      }
      return revoked.get(userId);
    },
    socketsOf: (userId) => sockets[userId],
    close: (socket) => closed.push(socket.name),
    logger: captureLogger().logger,
    delayMs: 20,
  });
  return {
    sweep,
    closed,
    reads: () => reads,
    failNext: (n: number) => {
      failures = n;
    },
  };
}

describe('RevocationSweep', () => {
  it('closes, a moment later, the sockets whose token a revocation covers, and only those', async () => {
    const sockets = {
      t1: [
        { name: 'old', issuedAt: 90 },
        { name: 'fresh', issuedAt: 100 },
        { name: 'no-iat', issuedAt: undefined },
      ],
      t2: [{ name: 'other', issuedAt: 50 }],
    };
    const { sweep, closed, reads } = setup(new Map([['t1', 100]]), sockets);
    sweep.recheck('t1');
    sweep.recheck('t1');
    sweep.recheck('t2');
    expect(closed).toEqual([]);
    await waitFor(() => reads() === 2, { message: 'one read per user' });
    await waitFor(() => closed.length === 2, { message: 'the revoked sockets closed' });
    expect(closed).toEqual(['old', 'no-iat']);
    expect(sweep.pending).toBe(0);
  });

  it('reads every given user after a reconnect, and retries a user whose read failed', async () => {
    const sockets = { t1: [{ name: 'a', issuedAt: 1 }], t2: [{ name: 'b', issuedAt: 1 }] };
    const { sweep, closed, reads, failNext } = setup(
      new Map([
        ['t1', 2],
        ['t2', 2],
      ]),
      sockets,
    );
    failNext(1);
    sweep.recheckAll(['t1', 't2']);
    await waitFor(() => closed.length === 2, { message: 'both closed, one after a retry' });
    expect(reads()).toBe(3);
  });

  it('forgets everything once stopped', async () => {
    const { sweep, reads } = setup(new Map(), { t1: [{ name: 'a', issuedAt: 1 }] });
    sweep.recheck('t1');
    sweep.stop();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(reads()).toBe(0);
  });
});
