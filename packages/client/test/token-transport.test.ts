import { waitFor } from '@huleedu/test-support';
import { WS_SUBPROTOCOL } from '@huleedu/ws-protocol';
import { describe, expect, it } from 'vitest';
import { fakeJwt, testClient } from './support/clients.js';
import { scriptedServerPerTest } from './support/scripted-server.js';

const running = scriptedServerPerTest();

const token = fakeJwt({ sub: 'teacher-1', exp: Math.floor(Date.now() / 1000) + 3600 });

describe('how the token reaches the service', () => {
  it('rides in Sec-WebSocket-Protocol by default, never in the URL', async () => {
    const { client, recording } = testClient(`${running().url}?tenant=t1`, {
      tokenTransport: undefined,
      getToken: () => token,
    });
    client.connect();
    await waitFor(() => client.state === 'open', { message: 'open with the header token' });
    const [connection] = running().connections;
    expect(connection?.token).toBe(token);
    expect(connection?.tokenVia).toBe('subprotocol');
    expect(connection?.protocol).toBe(WS_SUBPROTOCOL);
    expect(connection?.target).toBe('/ws?tenant=t1');
    expect(connection?.target).not.toContain(token);
    expect(recording.errors).toEqual([]);
  });

  it("keeps the legacy ?token= with tokenTransport: 'query'", async () => {
    const { client } = testClient(running().url, {
      tokenTransport: 'query',
      getToken: () => token,
    });
    client.connect();
    await waitFor(() => client.state === 'open');
    expect(running().connections[0]?.tokenVia).toBe('query');
    expect(running().connections[0]?.query.get('token')).toBe(token);
  });

  it('reports a token that cannot travel in the header, opens no socket, and asks again', async () => {
    const { client, recording, tokenRequests } = testClient(running().url, {
      tokenTransport: 'subprotocol',
      getToken: () => 'not a jwt',
    });
    client.connect();
    await waitFor(() => tokenRequests.length >= 2, { message: 'asked again after a backoff' });
    expect(running().connections).toHaveLength(0);
    expect(recording.errors[0]).toMatchObject({ code: 'token_unavailable' });
    expect(recording.errors[0]?.message).toMatch(/Sec-WebSocket-Protocol: expected a compact JWT/);
  });
});
