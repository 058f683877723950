import { waitFor } from '@huleedu/test-support';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientSocket } from '../src/client-socket.js';
import { type KeepaliveSocket, startKeepalive } from '../src/keepalive.js';
import { ConnectionRegistry, type SocketCursor } from '../src/registry.js';
import { closeOf, socketPairs } from './helpers.js';

let teardown: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of teardown.reverse()) await step();
  teardown = [];
});

describe('startKeepalive', () => {
  it('terminates a peer that stops answering pings and keeps one that answers', async () => {
    const pairs = await socketPairs();
    teardown.push(pairs.close);
    const answering = await pairs.open();
    const silent = await pairs.open({ autoPong: false });
    const sockets: ClientSocket[] = [answering.server, silent.server];
    // The server-side sockets mark themselves alive on pong, as Sessions does.
    for (const socket of sockets) socket.on('pong', () => (socket.alive = true));
    const registry = new ConnectionRegistry<ClientSocket>(5);
    registry.add('answering', answering.server);
    registry.add('silent', silent.server);
    const dead: ClientSocket[] = [];
    const walk = registry.cursor();
    let visits = 0;
    const stop = startKeepalive<ClientSocket>({
      intervalMs: 200,
      tickMs: 50,
      count: () => registry.size,
      cursor: (max, visit) => {
        visits++;
        return walk(max, visit);
      },
      onDeadPeer: (socket) => dead.push(socket),
    });
    teardown.push(stop);

    const silentClosed = closeOf(silent.client);
    await waitFor(() => dead.length === 1, { message: 'silent peer reaped' });
    expect(dead[0]).toBe(silent.server);
    // Terminated, not closed politely: the client sees an abnormal closure.
    expect((await silentClosed).code).toBe(1006);
    // The answering peer survives several more sweeps (two intervals' worth of slices).
    const seen = visits;
    await waitFor(() => visits >= seen + 6, { message: 'more sweeps' });
    expect(answering.client.readyState).toBe(answering.client.OPEN);
    expect(dead).toHaveLength(1);
  });

  it('does not terminate answering peers when the process stalled past a sweep', async () => {
    const pairs = await socketPairs();
    teardown.push(pairs.close);
    const answering = await pairs.open();
    answering.server.on('pong', () => (answering.server.alive = true));
    const dead: ClientSocket[] = [];
    let sweeps = 0;
    const stop = startKeepalive<ClientSocket>({
      intervalMs: 100,
      count: () => 1,
      cursor: (_max, visit) => {
        visit(answering.server);
        // Right after the first ping, the process stalls for three intervals: the peer's pong
        // cannot be read before the next sweep is due.
        if (++sweeps === 1) {
          const until = Date.now() + 350;
          while (Date.now() < until);
        }
        return 1;
      },
      onDeadPeer: (socket) => dead.push(socket),
    });
    teardown.push(stop);
    await waitFor(() => sweeps >= 4, { message: 'four sweeps' });
    expect(dead).toEqual([]);
    expect(answering.client.readyState).toBe(answering.client.OPEN);
  });

  it('stops sweeping when stopped', async () => {
    const pairs = await socketPairs();
    teardown.push(pairs.close);
    const silent = await pairs.open({ autoPong: false });
    // Fake timers: six intervals pass at once, deterministically.
    vi.useFakeTimers();
    teardown.push(() => vi.useRealTimers());
    let visits = 0;
    const stop = startKeepalive<ClientSocket>({
      intervalMs: 50,
      count: () => 1,
      cursor: (_max, visit) => {
        visits++;
        visit(silent.server);
        return 1;
      },
    });
    stop();
    vi.advanceTimersByTime(300);
    expect(visits).toBe(0);
    expect(silent.client.readyState).toBe(silent.client.OPEN);
  });

  it('spreads the pings over the interval, each socket once per interval', async () => {
    // Counting only: what a ping does on the wire is covered by the real sockets above.
    const pings: number[] = [];
    const sockets = Array.from({ length: 100 }, (_, i) => ({
      alive: true,
      pingedAt: 0,
      readyState: 1,
      sendPing() {
        pings.push(i);
        this.alive = true; // answered at once
      },
      terminate() {
        throw new Error(`socket ${i} terminated`);
      },
    }));
    let next = 0;
    const slices: number[] = [];
    const cursor: SocketCursor<KeepaliveSocket> = (max, visit) => {
      slices.push(max);
      let visited = 0;
      while (visited < max && next < sockets.length) {
        visit(sockets[next++]!);
        visited++;
      }
      if (visited < max) next = 0;
      return visited;
    };
    const stop = startKeepalive<KeepaliveSocket>({
      intervalMs: 1_000,
      tickMs: 100,
      count: () => sockets.length,
      cursor,
    });
    teardown.push(stop);
    await waitFor(() => pings.length >= 100, { message: 'a whole interval', timeoutMs: 5_000 });
    // Ten ticks of a tenth each, not one sweep of all: every socket pinged exactly once.
    expect(slices.slice(0, 10)).toEqual(Array(10).fill(10));
    expect(pings.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('pings a few sockets once per interval, not once per tick', async () => {
    const pings: number[] = [];
    const sockets = [0, 1].map((i) => ({
      alive: true,
      pingedAt: 0,
      readyState: 1,
      sendPing() {
        pings.push(i);
        this.alive = true;
      },
      terminate() {
        throw new Error(`socket ${i} terminated`);
      },
    }));
    const registry = new ConnectionRegistry<KeepaliveSocket>(1);
    registry.add('a', sockets[0]!);
    registry.add('b', sockets[1]!);
    // Fake timers: a second of ticks runs exactly as scheduled, whatever the machine's load.
    vi.useFakeTimers();
    teardown.push(() => vi.useRealTimers());
    const stop = startKeepalive<KeepaliveSocket>({
      intervalMs: 600,
      tickMs: 50,
      count: () => registry.size,
      cursor: registry.cursor(),
    });
    teardown.push(stop);
    vi.advanceTimersByTime(1_000);
    // Two passes at most (one at the start, one 600 ms later); one per tick would be ~20 pings.
    expect(pings.length).toBeGreaterThanOrEqual(2);
    expect(pings.length).toBeLessThanOrEqual(4);
    expect(pings.slice(0, 2)).toEqual([0, 1]);
  });

  it('does not judge a socket visited again too soon after its ping', async () => {
    // A socket that never answers, visited on every tick (its place in the walk keeps moving
    // forward as users before it leave): it is terminated only once half an interval passed.
    const silent = {
      alive: true,
      pingedAt: 0,
      readyState: 1,
      pings: 0,
      terminatedAfterMs: -1,
      sendPing() {
        this.pings++;
      },
      terminate() {
        this.terminatedAfterMs = Date.now() - this.pingedAt;
      },
    };
    // Fake timers: the clock the sweep reads advances exactly tick by tick.
    vi.useFakeTimers();
    teardown.push(() => vi.useRealTimers());
    const stop = startKeepalive<KeepaliveSocket>({
      intervalMs: 400,
      tickMs: 20,
      count: () => 1,
      cursor: (_max, visit) => {
        visit(silent);
        return 1;
      },
    });
    teardown.push(stop);
    for (let tick = 0; tick < 100 && silent.terminatedAfterMs < 0; tick++) {
      vi.advanceTimersByTime(20);
    }
    expect(silent.pings).toBe(1);
    expect(silent.terminatedAfterMs).toBeGreaterThanOrEqual(200);
  });
});
