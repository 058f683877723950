import { waitFor } from '@huleedu/test-support';
import {
  closeCodes,
  closeReasons,
  controlEvents,
  parseRefreshTokenFrame,
  refreshEvents,
  tokenRefreshedFrame,
} from '@huleedu/ws-protocol';
import { describe, expect, it } from 'vitest';
import { fakeJwt, testClient } from './support/clients.js';
import { statesOf } from './support/recorder.js';
import { type ServerConnection, scriptedServerPerTest } from './support/scripted-server.js';

const running = scriptedServerPerTest();

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
    running().onConnection = ({ socket }) =>
      socket.on('message', (data) => {
        const parsed = parseRefreshTokenFrame(data.toString());
        if (parsed.ok) socket.send(tokenRefreshedFrame(Date.now() + 2_000));
      });
    const tokens = issuer(2);
    const { client, recording, tokenRequests } = testClient(running().url, {
      tokenTransport: undefined,
      getToken: tokens.getToken,
    });
    client.connect();
    await waitFor(() => refreshesOn(running().connections[0]).length >= 2, {
      message: 'two refreshes on the first socket',
      timeoutMs: 10_000,
    });
    expect(running().connections).toHaveLength(1);
    expect(refreshesOn(running().connections[0])).toEqual(tokens.issued.slice(1, 3));
    expect(tokenRequests.slice(1, 3)).toEqual([
      expect.objectContaining({ refresh: true }),
      expect.objectContaining({ refresh: true }),
    ]);
    expect(statesOf(recording)).toEqual(['connecting', 'open']);
    expect(recording.resyncs).toEqual([]);
    expect(recording.errors).toEqual([]);
  });

  it('hands a refused refresh to the close policy: a prompt reconnect with a fresh token', async () => {
    running().onConnection = ({ socket }) =>
      socket.on('message', (data) => {
        if (parseRefreshTokenFrame(data.toString()).ok) {
          socket.close(closeCodes.AUTH_FAILED, closeReasons.TOKEN_SUBJECT_MISMATCH);
        }
      });
    const tokens = issuer(1);
    const { client, recording } = testClient(running().url, {
      tokenTransport: undefined,
      getToken: tokens.getToken,
    });
    client.connect();
    await waitFor(() => running().connections.length >= 2 && client.state === 'open', {
      message: 'reconnected after the refused refresh',
    });
    expect(refreshesOn(running().connections[0])).toHaveLength(1);
    expect(recording.states.find((s) => s.state === 'reconnecting')?.info).toMatchObject({
      code: 1008,
      reason: 'token_subject_mismatch',
      delayMs: 0,
    });
  });

  it('reports a ws.token_refreshed with bad data and keeps the socket', async () => {
    running().onConnection = ({ socket }) =>
      socket.send(
        JSON.stringify({ event: refreshEvents.TOKEN_REFRESHED, data: { expires_at: 'soon' } }),
      );
    const { client, recording } = testClient(running().url, {
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
    running().onConnection = ({ socket }) =>
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
    const { client, tokenRequests } = testClient(running().url, {
      tokenTransport: undefined,
      tokenRefresh: false,
      getToken: () => expiringIn(1),
    });
    client.connect();
    await waitFor(() => client.position !== undefined, { message: 'the late ws.synced arrived' });
    expect(refreshesOn(running().connections[0])).toEqual([]);
    expect(tokenRequests).toHaveLength(1);
  });
});
