import { describe, expect, it } from 'vitest';
import { TokenExpiry } from '../src/token-expiry.js';

interface Fake {
  name: string;
  expiresAt: number;
  readyState: number;
}

// The sweep only reads `expiresAt` and `readyState`; real sockets are covered by the
// integration test "closes a socket with 1008 token_expired when its token expires".
function setup(sockets: Fake[], start = 1_000) {
  let now = start;
  const expired: string[] = [];
  let visits = 0;
  const expiry = new TokenExpiry<Fake>({
    forEachSocket: (visit) => {
      visits++;
      sockets.forEach(visit);
    },
    onExpired: (socket) => {
      expired.push(socket.name);
      socket.readyState = 2; // closing, as ws.close() would leave it
    },
    now: () => now,
  });
  for (const socket of sockets) expiry.track(socket.expiresAt);
  return {
    expiry,
    expired,
    visits: () => visits,
    at: (time: number) => {
      now = time;
      expiry.sweep();
    },
  };
}

describe('TokenExpiry', () => {
  it('closes each socket once, when its own expiry has passed', () => {
    const sockets = [
      { name: 'a', expiresAt: 2_000, readyState: 1 },
      { name: 'b', expiresAt: 3_000, readyState: 1 },
      { name: 'c', expiresAt: 9_000, readyState: 1 },
    ];
    const { expired, at } = setup(sockets);
    at(1_999);
    expect(expired).toEqual([]);
    at(2_000);
    expect(expired).toEqual(['a']);
    at(3_500);
    expect(expired).toEqual(['a', 'b']);
    at(4_000);
    expect(expired).toEqual(['a', 'b']);
  });

  it('does not walk the sockets before the earliest expiry is due', () => {
    const { visits, at, expiry } = setup([{ name: 'a', expiresAt: 5_000, readyState: 1 }]);
    at(2_000);
    at(3_000);
    expect(visits()).toBe(0);
    expiry.track(4_000);
    at(4_000);
    expect(visits()).toBe(1);
  });

  it('ignores sockets that are already closing', () => {
    const { expired, at } = setup([{ name: 'a', expiresAt: 1_500, readyState: 2 }]);
    at(2_000);
    expect(expired).toEqual([]);
  });

  it('runs on its own timer once started', async () => {
    const socket = { name: 'a', expiresAt: Date.now() + 50, readyState: 1 };
    const expired: string[] = [];
    const expiry = new TokenExpiry<typeof socket>({
      forEachSocket: (visit) => visit(socket),
      onExpired: (s) => {
        expired.push(s.name);
        s.readyState = 2;
      },
      resolutionMs: 20,
    });
    expiry.track(socket.expiresAt);
    expiry.start();
    try {
      const deadline = Date.now() + 5_000;
      while (expired.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(expired).toEqual(['a']);
    } finally {
      expiry.stop();
    }
  });
});
