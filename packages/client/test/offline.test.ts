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

  it('drops the socket when the browser goes offline and reconnects at once when online', async () => {
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
    await waitFor(() => server.connections.length === 2 && client.state === 'open');
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
