import { waitFor } from '@huleedu/test-support';
import { closeCodes } from '@huleedu/ws-protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeTestClients, testClient } from './support/clients.js';
import { lastInfo, statesOf } from './support/recorder.js';
import { type ScriptedServer, startScriptedServer } from './support/scripted-server.js';

// A browser-like global scope: navigator.onLine and window's online/offline events.
let network: { onLine: boolean };
let events: EventTarget;
let server: ScriptedServer;

function goOffline() {
  network.onLine = false;
  events.dispatchEvent(new Event('offline'));
}
function goOnline() {
  network.onLine = true;
  events.dispatchEvent(new Event('online'));
}

beforeEach(async () => {
  server = await startScriptedServer();
  network = { onLine: true };
  events = new EventTarget();
  vi.stubGlobal('navigator', network);
  vi.stubGlobal('addEventListener', events.addEventListener.bind(events));
  vi.stubGlobal('removeEventListener', events.removeEventListener.bind(events));
});
afterEach(async () => {
  closeTestClients();
  vi.unstubAllGlobals();
  await server.close();
});

describe('offline awareness', () => {
  it('makes no attempt while the browser is offline, and connects as soon as it is online', async () => {
    network.onLine = false;
    const { client, recording, tokenRequests } = testClient(server.url);
    client.connect();
    expect(client.state).toBe('reconnecting');
    expect(lastInfo(recording, 'reconnecting')).toMatchObject({ offline: true });
    expect(tokenRequests).toEqual([]);
    goOnline();
    await waitFor(() => client.state === 'open');
    expect(server.connections).toHaveLength(1);
  });

  it('drops the socket when the browser goes offline and reconnects soon after online', async () => {
    // A long backoff: only the online event can explain a prompt reconnect.
    const { client, recording } = testClient(server.url, {
      initialDelayMs: 60_000,
      maxDelayMs: 60_000,
    });
    client.connect();
    await waitFor(() => client.state === 'open');
    const serverSawClose = new Promise((resolve) =>
      server.connections[0]?.socket.once('close', resolve),
    );
    goOffline();
    expect(client.state).toBe('reconnecting');
    expect(lastInfo(recording, 'reconnecting')).toMatchObject({ offline: true });
    await serverSawClose;
    goOnline();
    await waitFor(() => server.connections.length === 2 && client.state === 'open');
    expect(statesOf(recording)).toEqual([
      'connecting',
      'open',
      'reconnecting',
      'reconnecting',
      'connecting',
      'open',
    ]);
  });

  it('cuts a long backoff short when the network comes back', async () => {
    server.onConnection = ({ socket }) => {
      if (server.connections.length === 1) socket.close(closeCodes.TRY_AGAIN_LATER);
    };
    const { client, recording } = testClient(server.url, {
      initialDelayMs: 60_000,
      maxDelayMs: 60_000,
      random: () => 1,
    });
    client.connect();
    await waitFor(() => client.state === 'reconnecting');
    expect(lastInfo(recording, 'reconnecting')?.delayMs).toBe(60_000);
    goOffline();
    goOnline();
    // Within the going-away spread (50 ms here), not after the 60 s backoff.
    expect(lastInfo(recording, 'reconnecting')?.delayMs).toBe(50);
    await waitFor(() => server.connections.length === 2 && client.state === 'open');
  });

  it('spreads the reconnects of many tabs when the network comes back', async () => {
    const draws = [0.1, 0.9, 0.5];
    const clients = draws.map((draw) =>
      testClient(server.url, { random: () => draw, goingAwaySpreadMs: 1_000 }),
    );
    goOffline();
    for (const { client } of clients) client.connect();
    goOnline();
    const delays = clients.map(({ recording }) => lastInfo(recording, 'reconnecting')?.delayMs);
    // Each waits its own random share of the window (capped by its backoff) instead of none.
    expect(delays).toEqual([2, 18, 10]);
    await waitFor(() => clients.every(({ client }) => client.state === 'open'));
  });

  it('keeps a refused token’s wait when the network comes back', async () => {
    server.onConnection = ({ socket }) => socket.close(closeCodes.AUTH_FAILED, 'token_invalid');
    const { client, recording, tokenRequests } = testClient(server.url, {
      authRetryDelayMs: 60_000,
      authMaxDelayMs: 60_000,
      random: () => 0,
    });
    client.connect();
    // The prompt retry with a fresh token, refused too: now the long auth wait.
    await waitFor(() => (lastInfo(recording, 'reconnecting')?.delayMs ?? 0) >= 30_000);
    goOffline();
    goOnline();
    expect(lastInfo(recording, 'reconnecting')?.delayMs).toBeGreaterThan(29_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(tokenRequests).toHaveLength(2);
  });

  it('does not schedule attempts when a socket is lost while offline', async () => {
    const { client, recording } = testClient(server.url);
    client.connect();
    await waitFor(() => client.state === 'open');
    // navigator.onLine flips before the event arrives: the close comes first.
    network.onLine = false;
    server.connections[0]?.socket.terminate();
    await waitFor(() => client.state === 'reconnecting');
    const info = lastInfo(recording, 'reconnecting');
    expect(info).toMatchObject({ offline: true, code: 1006 });
    expect(info?.delayMs).toBeUndefined();
    goOnline();
    expect(lastInfo(recording, 'reconnecting')?.delayMs).toBeDefined();
    await waitFor(() => server.connections.length === 2 && client.state === 'open');
  });

  it('treats a scope without navigator.onLine (Node 21+) as online', async () => {
    vi.stubGlobal('navigator', {});
    const { client } = testClient(server.url);
    client.connect();
    await waitFor(() => client.state === 'open');
  });

  it('stops listening to network events after close()', async () => {
    const { client } = testClient(server.url);
    client.connect();
    await waitFor(() => client.state === 'open');
    client.close();
    goOffline();
    goOnline();
    expect(client.state).toBe('closed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.connections).toHaveLength(1);
  });
});
