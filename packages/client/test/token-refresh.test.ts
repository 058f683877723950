import { waitFor } from '@huleedu/test-support';
import {
  closeCodes,
  closeReasons,
  controlEvents,
  parseRefreshTokenFrame,
  refreshEvents,
  tokenRefreshedFrame,
} from '@huleedu/ws-protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeTestClients, fakeJwt, testClient } from './support/clients.js';
import { statesOf } from './support/recorder.js';
import {
  type ScriptedServer,
  type ServerConnection,
  startScriptedServer,
} from './support/scripted-server.js';

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
});
afterEach(async () => {
  closeTestClients();
  await server.close();
});

/** A JWT of user `sub` that expires `seconds` from now. */
const expiringIn = (seconds: number, sub = 'teacher-1') =>
  fakeJwt({
    sub,
    exp: Math.floor(Date.now() / 1000) + seconds,
    iat: Math.floor(Date.now() / 1000),
  });

/** The tokens a connection received in `ws.refresh_token` frames. */
const refreshesOn = (connection: ServerConnection | undefined): string[] =>
  (connection?.received ?? [])
    .map((frame) => parseRefreshTokenFrame(frame))
    .flatMap((parsed) => (parsed.ok ? [parsed.token] : []));

/** A getToken handing out tokens that expire `seconds` after they are asked for. */
function issuer(seconds: number) {
  const issued: string[] = [];
  return {
    issued,
    getToken: () => {
      issued.push(expiringIn(seconds));
      return issued[issued.length - 1] as string;
    },
  };
}

describe('refreshing the token on the open socket', () => {
  it('sends a fresh token before expiry and keeps the same socket, no resync', async () => {
    // The service answers each refresh with the new expiry, so the client schedules the next.
    server.onConnection = ({ socket }) =>
      socket.on('message', (data) => {
        const parsed = parseRefreshTokenFrame(data.toString());
        if (parsed.ok) socket.send(tokenRefreshedFrame(Date.now() + 2_000));
      });
    const tokens = issuer(2);
    const { client, recording, tokenRequests } = testClient(server.url, {
      tokenTransport: undefined,
      getToken: tokens.getToken,
    });
    client.connect();
    await waitFor(() => refreshesOn(server.connections[0]).length >= 2, {
      message: 'two refreshes on the first socket',
      timeoutMs: 10_000,
    });
    expect(server.connections).toHaveLength(1);
    expect(refreshesOn(server.connections[0])).toEqual(tokens.issued.slice(1, 3));
    expect(tokenRequests.slice(1, 3)).toEqual([
      expect.objectContaining({ refresh: true }),
      expect.objectContaining({ refresh: true }),
    ]);
    expect(statesOf(recording)).toEqual(['connecting', 'open']);
    expect(recording.resyncs).toEqual([]);
    expect(recording.errors).toEqual([]);
  });

  it('hands a refused refresh to the close policy: a prompt reconnect with a fresh token', async () => {
    server.onConnection = ({ socket }) =>
      socket.on('message', (data) => {
        if (parseRefreshTokenFrame(data.toString()).ok) {
          socket.close(closeCodes.AUTH_FAILED, closeReasons.TOKEN_SUBJECT_MISMATCH);
        }
      });
    const tokens = issuer(1);
    const { client, recording } = testClient(server.url, {
      tokenTransport: undefined,
      getToken: tokens.getToken,
    });
    client.connect();
    await waitFor(() => server.connections.length >= 2 && client.state === 'open', {
      message: 'reconnected after the refused refresh',
    });
    expect(refreshesOn(server.connections[0])).toHaveLength(1);
    expect(recording.states.find((s) => s.state === 'reconnecting')?.info).toMatchObject({
      code: 1008,
      reason: 'token_subject_mismatch',
      delayMs: 0,
    });
  });

  it('reports a ws.token_refreshed with bad data and keeps the socket', async () => {
    server.onConnection = ({ socket }) =>
      socket.send(
        JSON.stringify({ event: refreshEvents.TOKEN_REFRESHED, data: { expires_at: 'soon' } }),
      );
    const { client, recording } = testClient(server.url, {
      tokenTransport: undefined,
      getToken: () => expiringIn(3600),
    });
    client.connect();
    await waitFor(() => recording.errors.length > 0);
    expect(recording.errors[0]).toMatchObject({ code: 'invalid_message' });
    expect(recording.errors[0]?.message).toMatch(
      /ws\.token_refreshed: data\.expires_at: expected a whole number of epoch milliseconds/,
    );
    expect(client.state).toBe('open');
  });

  it('does not refresh with tokenRefresh: false (the expiry closes the socket as before)', async () => {
    // A refresh would come within 0.9 s of a 1 s token; a synced frame after 1.5 s proves the
    // socket was read that long.
    server.onConnection = ({ socket }) =>
      setTimeout(
        () =>
          socket.send(
            JSON.stringify({
              event: controlEvents.SYNCED,
              data: { position: 0, epoch: null, replayed: 0 },
            }),
          ),
        1_500,
      );
    const { client, tokenRequests } = testClient(server.url, {
      tokenTransport: undefined,
      tokenRefresh: false,
      getToken: () => expiringIn(1),
    });
    client.connect();
    await waitFor(() => client.position !== undefined, { message: 'the late ws.synced arrived' });
    expect(refreshesOn(server.connections[0])).toEqual([]);
    expect(tokenRequests).toHaveLength(1);
  });
});
