import { waitFor } from '@huleedu/test-support';
import { heartbeat } from '@huleedu/ws-protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeTestClients, testClient } from './support/clients.js';
import { frame, resultsReady } from './support/notifications.js';
import { lastInfo } from './support/recorder.js';
import { type ScriptedServer, startScriptedServer } from './support/scripted-server.js';

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
});
afterEach(async () => {
  closeTestClients();
  await server.close();
});

const pingsOn = (index: number) =>
  server.connections[index]?.received.filter((text) => text === heartbeat.PING).length ?? 0;

describe('heartbeat', () => {
  it('sends ping text frames and keeps a connection whose pings are answered', async () => {
    const { client, recording } = testClient(server.url, { heartbeatIntervalMs: 40 });
    client.connect();
    await waitFor(() => pingsOn(0) >= 5, { message: 'five pings answered' });
    expect(server.connections).toHaveLength(1);
    expect(client.state).toBe('open');
    expect(recording.errors).toEqual([]);
  });

  it('replaces a connection whose service went silent (frozen, no FIN) after one unanswered ping', async () => {
    server.answerPings = false;
    server.onConnection = () => {
      // The replacement connection finds the service healthy again.
      if (server.connections.length === 2) server.answerPings = true;
    };
    const { client, recording } = testClient(server.url, { heartbeatIntervalMs: 50 });
    client.connect();
    await waitFor(() => server.connections.length === 2 && client.state === 'open');
    // Dead at the tick after the first unanswered ping: within two intervals of the silence.
    expect(pingsOn(0)).toBe(1);
    expect(recording.errors.map((e) => e.code)).toEqual(['heartbeat_timeout']);
    expect(lastInfo(recording, 'reconnecting')?.error?.code).toBe('heartbeat_timeout');
  });

  it('counts any frame as a reply: notifications keep a connection alive without pongs', async () => {
    server.answerPings = false;
    server.onConnection = ({ socket }) =>
      socket.on('message', () => socket.send(frame('batch_results_ready', resultsReady('b1'))));
    const { client, recording } = testClient(server.url, { heartbeatIntervalMs: 40 });
    client.connect();
    await waitFor(() => pingsOn(0) >= 5);
    expect(server.connections).toHaveLength(1);
    expect(recording.errors).toEqual([]);
    expect(recording.messages.length).toBeGreaterThanOrEqual(4);
  });

  it('does not hand pong frames to the app', async () => {
    const { client, recording } = testClient(server.url, { heartbeatIntervalMs: 30 });
    client.connect();
    await waitFor(() => pingsOn(0) >= 3);
    expect(recording.messages).toEqual([]);
    expect(recording.errors).toEqual([]);
  });
});
