import { waitFor } from '@huleedu/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientSocket } from '../src/client-socket.js';
import { startKeepalive } from '../src/keepalive.js';
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
    const dead: ClientSocket[] = [];
    const stop = startKeepalive<ClientSocket>({
      intervalMs: 100,
      forEachSocket: (visit) => sockets.forEach(visit),
      onDeadPeer: (socket) => dead.push(socket),
    });
    teardown.push(stop);

    const silentClosed = closeOf(silent.client);
    await waitFor(() => dead.length === 1, { message: 'silent peer reaped' });
    expect(dead[0]).toBe(silent.server);
    // Terminated, not closed politely: the client sees an abnormal closure.
    expect((await silentClosed).code).toBe(1006);
    // The answering peer survives several more sweeps.
    await new Promise((resolve) => setTimeout(resolve, 400));
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
      forEachSocket: (visit) => {
        visit(answering.server);
        // Right after the first ping, the process stalls for three intervals: the peer's pong
        // cannot be read before the next sweep is due.
        if (++sweeps === 1) {
          const until = Date.now() + 350;
          while (Date.now() < until);
        }
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
    const stop = startKeepalive<ClientSocket>({
      intervalMs: 50,
      forEachSocket: (visit) => visit(silent.server),
    });
    stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(silent.client.readyState).toBe(silent.client.OPEN);
  });
});
