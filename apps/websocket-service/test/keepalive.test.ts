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
