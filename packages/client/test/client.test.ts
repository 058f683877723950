import { createServer, type Server, type Socket } from 'node:net';
import { waitFor } from '@huleedu/test-support';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createNotificationClient } from '../src/index.js';
import { closeTestClients, testClient } from './support/clients.js';
import { lastInfo } from './support/recorder.js';
import { type ScriptedServer, startScriptedServer } from './support/scripted-server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  closeTestClients();
  vi.unstubAllGlobals();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function scripted(): Promise<ScriptedServer> {
  const server = await startScriptedServer();
  cleanups.push(() => server.close());
  return server;
}

describe('createNotificationClient', () => {
  it('refuses a url that is not ws:// or wss://', () => {
    expect(() =>
      createNotificationClient({ url: 'ftp://example.com/ws', getToken: () => 't', WebSocket }),
    ).toThrow(/ws:\/\/ or wss:\/\//);
  });

  it('says how to fix a missing WebSocket implementation', () => {
    vi.stubGlobal('WebSocket', undefined);
    expect(() =>
      createNotificationClient({ url: 'ws://127.0.0.1:1/ws', getToken: () => 't' }),
    ).toThrow(/options\.WebSocket/);
  });

  it('does nothing until connect(), and connect() twice opens one socket', async () => {
    const server = await scripted();
    const { client, tokenRequests } = testClient(server.url);
    expect(client.state).toBe('idle');
    expect(tokenRequests).toEqual([]);
    client.connect();
    client.connect();
    await waitFor(() => client.state === 'open');
    expect(server.connections).toHaveLength(1);
  });

  it('stays closed when a connecting handler calls close(), connect timer included', async () => {
    const server = await scripted();
    const { client, tokenRequests } = testClient(server.url, { connectTimeoutMs: 50 });
    const states: string[] = [];
    client.onStateChange((state) => {
      states.push(state);
      if (state === 'connecting') client.close();
    });
    client.connect();
    // Several connect timeouts later: nothing came back to life.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(states).toEqual(['connecting', 'closed']);
    expect(tokenRequests).toEqual([]);
    expect(server.connections).toHaveLength(0);
  });

  it('sends the token as the token query parameter and keeps the rest of the url', async () => {
    const server = await scripted();
    const { client } = testClient(`${server.url}?tenant=t1`, {
      getToken: async () => 'a b+c',
    });
    client.connect();
    await waitFor(() => client.state === 'open');
    expect(server.connections[0]?.token).toBe('a b+c');
  });

  it('resolves a relative url against the page and turns http into ws', async () => {
    const server = await scripted();
    const origin = server.url.replace('ws://', 'http://').replace('/ws', '');
    vi.stubGlobal('location', { href: `${origin}/app/page.html` });
    const { client } = testClient('/ws');
    client.connect();
    await waitFor(() => client.state === 'open');
  });

  it('reports a failing getToken as token_unavailable and asks again after a backoff', async () => {
    const server = await scripted();
    let calls = 0;
    const { client, recording } = testClient(server.url, {
      getToken: async () => {
        calls++;
        if (calls === 1) throw new Error('identity service down');
        return 'token';
      },
    });
    client.connect();
    await waitFor(() => client.state === 'open');
    expect(calls).toBe(2);
    expect(recording.errors[0]).toMatchObject({ code: 'token_unavailable' });
    expect(recording.errors[0]?.message).toContain('identity service down');
  });

  it('gives up on a socket that never opens (connect_timeout) and tries again', async () => {
    // A TCP server that accepts and never answers the upgrade: a frozen or black-holed service.
    const sockets: Socket[] = [];
    const tcp: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          tcp.close(() => resolve());
        }),
    );
    const address = tcp.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const { client, recording } = testClient(`ws://127.0.0.1:${port}/ws`, {
      connectTimeoutMs: 200,
    });
    client.connect();
    await waitFor(() => sockets.length >= 2, { message: 'a second attempt' });
    expect(recording.errors[0]).toMatchObject({ code: 'connect_timeout' });
    expect(lastInfo(recording, 'reconnecting')?.error?.code).toBe('connect_timeout');
  });

  it('counts attempts in the state info until a connection stays up', async () => {
    const server = await scripted();
    server.onConnection = ({ socket }) => {
      if (server.connections.length < 3) socket.close(1011);
    };
    const { client, recording } = testClient(server.url);
    client.connect();
    await waitFor(() => server.connections.length === 3 && client.state === 'open');
    expect(
      recording.states.filter((s) => s.state === 'connecting').map((s) => s.info.attempt),
    ).toEqual([1, 2, 3]);
    expect(lastInfo(recording, 'open')?.attempt).toBe(3);
  });
});
