import { waitFor } from '@huleedu/test-support';
import { closeCodes, closeReasons } from '@huleedu/ws-protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeTestClients, testClient } from './support/clients.js';
import { lastInfo, type Recording, statesOf } from './support/recorder.js';
import { type ScriptedServer, startScriptedServer } from './support/scripted-server.js';

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
});
afterEach(async () => {
  closeTestClients();
  await server.close();
});

/** The delays the client announced each time it went to `reconnecting`. */
const delaysOf = (recording: Recording) =>
  recording.states.filter((s) => s.state === 'reconnecting').map((s) => s.info.delayMs);

/** Waits a little: enough for several retries at the test's short delays to have happened. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

describe('close-code policy', () => {
  it('stops for good on 1000: state closed, no reconnect', async () => {
    server.onConnection = ({ socket }) => socket.close(closeCodes.NORMAL, 'session ended');
    const { client, recording } = testClient(server.url);
    client.connect();
    await waitFor(() => client.state === 'closed', { message: 'closed after 1000' });
    await settle();
    expect(server.connections).toHaveLength(1);
    expect(statesOf(recording)).toEqual(['connecting', 'open', 'closed']);
    expect(lastInfo(recording, 'closed')).toMatchObject({ code: 1000, reason: 'session ended' });
  });

  it('reconnects after 1001 at a random moment within the spread window', async () => {
    server.onConnection = ({ socket }) => {
      if (server.connections.length === 1) {
        socket.close(closeCodes.GOING_AWAY, closeReasons.SERVER_SHUTDOWN);
      }
    };
    const { client, recording } = testClient(server.url, {
      goingAwaySpreadMs: 1_000,
      random: () => 0.25,
    });
    client.connect();
    await waitFor(() => server.connections.length === 2 && client.state === 'open');
    expect(lastInfo(recording, 'reconnecting')).toMatchObject({
      code: 1001,
      reason: 'server_shutdown',
      delayMs: 250,
    });
    expect(recording.errors).toEqual([]);
  });

  it('spreads the tabs an instance sends away with 1001 instead of returning all at once', async () => {
    const spreadMs = 10_000;
    server.onConnection = ({ socket }) =>
      socket.close(closeCodes.GOING_AWAY, closeReasons.SERVER_SHUTDOWN);
    const tabs = Array.from({ length: 30 }, () =>
      testClient(server.url, { goingAwaySpreadMs: spreadMs }),
    );
    for (const tab of tabs) tab.client.connect();
    await waitFor(() => tabs.every((tab) => tab.client.state === 'reconnecting'));
    const delays = tabs.map((tab) => lastInfo(tab.recording, 'reconnecting')?.delayMs ?? -1);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(spreadMs);
    }
    expect(new Set(delays).size).toBeGreaterThan(25);
  });

  it('on 1008 fetches a fresh token at once and keeps delivering', async () => {
    server.onConnection = ({ socket, token }) => {
      if (token === 'token-1') socket.close(closeCodes.AUTH_FAILED, closeReasons.TOKEN_EXPIRED);
    };
    const { client, recording, tokenRequests } = testClient(server.url);
    client.connect();
    await waitFor(() => server.connections.length === 2 && client.state === 'open');
    expect(server.connections.map((c) => c.token)).toEqual(['token-1', 'token-2']);
    expect(tokenRequests).toEqual([
      { refresh: false, attempt: 1 },
      { refresh: true, attempt: 2 },
    ]);
    expect(lastInfo(recording, 'reconnecting')).toMatchObject({
      code: 1008,
      reason: 'token_expired',
      delayMs: 0,
    });
    expect(recording.errors).toEqual([]);
  });

  it('reports auth_failed when the fresh token is refused too, and backs off long', async () => {
    server.onConnection = ({ socket }) =>
      socket.close(closeCodes.AUTH_FAILED, closeReasons.TOKEN_INVALID_SIGNATURE);
    const { client, recording, tokenRequests } = testClient(server.url, {
      authRetryDelayMs: 300,
      authMaxDelayMs: 1_000,
      random: () => 0,
    });
    client.connect();
    await waitFor(() => server.connections.length >= 5, { timeoutMs: 15_000 });
    client.close();
    // One prompt retry with a fresh token, then waits of at least half the growing bound.
    expect(delaysOf(recording).slice(0, 4)).toEqual([0, 150, 300, 500]);
    expect(tokenRequests.slice(1).every((request) => request.refresh)).toBe(true);
    const authErrors = recording.errors.filter((e) => e.code === 'auth_failed');
    expect(authErrors.length).toBeGreaterThanOrEqual(3);
    expect(authErrors[0]).toMatchObject({ detail: 'token_invalid_signature' });
    expect(authErrors[0]?.message).toContain('token_invalid_signature');
    expect(lastInfo(recording, 'reconnecting')?.error?.code).toBe('auth_failed');
  });

  it('backs off exponentially on 4000 (connection limit) without asking for a fresh token', async () => {
    server.onConnection = ({ socket }) =>
      socket.close(closeCodes.CONNECTION_LIMIT, closeReasons.CONNECTION_LIMIT);
    const { client, recording, tokenRequests } = testClient(server.url, {
      initialDelayMs: 20,
      maxDelayMs: 100,
      random: () => 1,
    });
    client.connect();
    await waitFor(() => server.connections.length >= 5);
    client.close();
    expect(delaysOf(recording).slice(0, 4)).toEqual([20, 40, 80, 100]);
    expect(tokenRequests.every((request) => !request.refresh)).toBe(true);
    expect(lastInfo(recording, 'reconnecting')).toMatchObject({
      code: 4000,
      reason: 'connection_limit',
    });
  });

  it('backs off when the network drops the socket (1006, no close frame)', async () => {
    server.onConnection = ({ socket }) => {
      if (server.connections.length === 1) socket.terminate();
    };
    const { client, recording } = testClient(server.url, { random: () => 1 });
    client.connect();
    await waitFor(() => server.connections.length === 2 && client.state === 'open');
    expect(lastInfo(recording, 'reconnecting')).toMatchObject({ code: 1006, delayMs: 20 });
  });

  it('resets the backoff once a connection stays up', async () => {
    server.onConnection = ({ socket }) => {
      const n = server.connections.length;
      if (n <= 3) socket.close(closeCodes.TRY_AGAIN_LATER, closeReasons.NOT_READY);
      // The fourth stays up past stableAfterMs, then the service restarts.
      if (n === 4) setTimeout(() => socket.close(closeCodes.TRY_AGAIN_LATER), 600);
    };
    const { client, recording } = testClient(server.url, {
      initialDelayMs: 20,
      maxDelayMs: 1_000,
      stableAfterMs: 100,
      random: () => 1,
    });
    client.connect();
    await waitFor(() => server.connections.length === 5 && client.state === 'open');
    expect(delaysOf(recording)).toEqual([20, 40, 80, 20]);
    expect(lastInfo(recording, 'connecting')?.attempt).toBe(1);
  });

  it('close() stops for good, even while waiting to reconnect', async () => {
    server.onConnection = ({ socket }) => socket.close(closeCodes.INTERNAL_ERROR);
    const { client, recording } = testClient(server.url, {
      initialDelayMs: 2_000,
      maxDelayMs: 2_000,
      random: () => 1,
    });
    client.connect();
    await waitFor(() => client.state === 'reconnecting');
    expect(lastInfo(recording, 'reconnecting')?.delayMs).toBe(2_000);
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(server.connections).toHaveLength(1);
    expect(statesOf(recording).at(-1)).toBe('closed');
  });

  it('close() on an open socket closes it on the server and does not reconnect', async () => {
    const { client } = testClient(server.url);
    client.connect();
    await waitFor(() => client.state === 'open');
    const closed = new Promise((resolve) => server.connections[0]?.socket.once('close', resolve));
    client.close();
    await closed;
    await settle();
    expect(server.connections).toHaveLength(1);
    expect(client.state).toBe('closed');
  });

  it('connect() after close() starts over', async () => {
    const { client, recording } = testClient(server.url);
    client.connect();
    await waitFor(() => client.state === 'open');
    client.close();
    client.connect();
    await waitFor(() => server.connections.length === 2 && client.state === 'open');
    expect(statesOf(recording)).toEqual(['connecting', 'open', 'closed', 'connecting', 'open']);
  });
});
