import { waitFor } from '@huleedu/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery, NotificationClientOptions } from '../src/index.js';
import { closeTestClients, testClient } from './support/clients.js';
import { type HistoryServer, startHistoryServer } from './support/history-server.js';
import { frame, resultsReady } from './support/notifications.js';
import type { Recording } from './support/recorder.js';

// The client against a small protocol peer of the delivery guarantee (history, resume, recent,
// ws.synced, ws.resync); the same behaviour against the real service is in test/browser.
let peer: HistoryServer | undefined;
afterEach(async () => {
  closeTestClients();
  await peer?.close();
  peer = undefined;
});

async function started(options: Partial<NotificationClientOptions> = {}) {
  peer = await startHistoryServer();
  const test = testClient(peer.url, options);
  test.client.connect();
  return test;
}

const batches = (recording: Recording) =>
  recording.messages.map((message) => (message.data as { batch_id?: string }).batch_id);
const replayedFlags = (recording: Recording) => recording.deliveries.map((d) => d.replayed);
const query = (index: number) => Object.fromEntries(peer?.server.connections[index]?.query ?? []);
/** Cuts the socket; the client reconnects on its own (1006, short backoff). */
async function cutAndReconnect(client: { state: string }, whileAway: () => void = () => {}) {
  const connections = peer?.server.connections.length ?? 0;
  peer?.cut();
  // Appended in the same tick as the cut: no socket can be open to receive them live.
  whileAway();
  await waitFor(
    () => client.state === 'open' && peer?.server.connections.length === connections + 1,
  );
}

describe('resume after a reconnect', () => {
  it('asks for what it missed with the position and epoch of the last message it handed over', async () => {
    const { client, recording } = await started();
    await waitFor(() => client.state === 'open');
    expect(query(0)).toEqual({ token: 'token-1' }); // first connect: nothing to resume
    peer?.publish('batch_results_ready', resultsReady('live-1'));
    peer?.publish('batch_results_ready', resultsReady('live-2'));
    await waitFor(() => recording.messages.length === 2);
    expect(client.position).toEqual({ position: 2, epoch: 'epoch-a' });

    await cutAndReconnect(client, () => {
      peer?.append('batch_results_ready', resultsReady('missed-3'));
      peer?.append('batch_results_ready', resultsReady('missed-4'));
    });
    expect(query(1)).toEqual({ token: 'token-2', position: '2', epoch: 'epoch-a' });
    await waitFor(() => recording.messages.length === 4);
    peer?.publish('batch_results_ready', resultsReady('live-5'));
    await waitFor(() => recording.messages.length === 5);

    expect(batches(recording)).toEqual(['live-1', 'live-2', 'missed-3', 'missed-4', 'live-5']);
    expect(replayedFlags(recording)).toEqual([false, false, true, true, false]);
    expect(recording.deliveries[2]).toEqual({ replayed: true, position: 3, epoch: 'epoch-a' });
    expect(client.position).toEqual({ position: 5, epoch: 'epoch-a' });
    expect(recording.errors).toEqual([]);
  });

  it('hands replayed messages to the typed handlers too, in order, with how they came', async () => {
    const { client } = await started();
    const typed: [string, Delivery][] = [];
    client.on('batch_results_ready', (data, _message, delivery) =>
      typed.push([data.batch_id, delivery]),
    );
    await waitFor(() => client.state === 'open');
    await cutAndReconnect(client, () => {
      for (let i = 1; i <= 5; i++) peer?.append('batch_results_ready', resultsReady(`m-${i}`));
    });
    await waitFor(() => typed.length === 5);
    expect(typed.map(([batch]) => batch)).toEqual(['m-1', 'm-2', 'm-3', 'm-4', 'm-5']);
    expect(typed.map(([, delivery]) => delivery.position)).toEqual([1, 2, 3, 4, 5]);
    expect(typed.every(([, delivery]) => delivery.replayed)).toBe(true);
  });

  it('keeps the position through close() and connect(): the next session resumes', async () => {
    const { client, recording } = await started();
    await waitFor(() => client.state === 'open');
    peer?.publish('batch_results_ready', resultsReady('session-1'));
    await waitFor(() => recording.messages.length === 1);
    client.close();
    peer?.append('batch_results_ready', resultsReady('session-2'));
    client.connect();
    await waitFor(() => recording.messages.length === 2);
    expect(query(1)).toMatchObject({ position: '1', epoch: 'epoch-a' });
    expect(recording.deliveries[1]).toMatchObject({ replayed: true, position: 2 });
  });

  it('resumes from position 0 when the history was empty at the last ws.synced', async () => {
    const { client, recording } = await started({ recent: 10 });
    await waitFor(() => client.position !== undefined);
    expect(client.position).toEqual({ position: 0, epoch: null });
    await cutAndReconnect(client, () => {
      peer?.append('batch_results_ready', resultsReady('first-ever'));
    });
    expect(query(1)).toEqual({ token: 'token-2', position: '0' });
    await waitFor(() => recording.messages.length === 1);
    expect(recording.deliveries[0]).toEqual({ replayed: true, position: 1, epoch: 'epoch-a' });
  });
});

describe('duplicates', () => {
  it('drops a message at or below its position in the same epoch without calling handlers', async () => {
    const { client, recording } = await started();
    let typedCalls = 0;
    client.on('batch_results_ready', () => typedCalls++);
    await waitFor(() => client.state === 'open');
    const first = peer?.publish('batch_results_ready', resultsReady('one')) ?? '';
    const second = peer?.publish('batch_results_ready', resultsReady('two')) ?? '';
    peer?.send(first); // an overlap of replay and live, as a buggy or older service might send
    peer?.send(second);
    peer?.publish('batch_results_ready', resultsReady('three'));
    await waitFor(() => recording.messages.length === 3);
    // A raw frame after them proves the duplicates were processed (and dropped) already.
    peer?.send(frame('teacher_note', { note: 'after' }));
    await waitFor(() => recording.messages.length === 4);
    expect(batches(recording)).toEqual(['one', 'two', 'three', undefined]);
    expect(typedCalls).toBe(3);
    expect(recording.errors).toEqual([]);
  });

  it('takes a message of another epoch as new and continues in that epoch', async () => {
    const { client, recording } = await started();
    await waitFor(() => client.state === 'open');
    peer?.publish('batch_results_ready', resultsReady('a-1'));
    peer?.publish('batch_results_ready', resultsReady('a-2'));
    await waitFor(() => recording.messages.length === 2);
    peer?.lose('epoch-b');
    peer?.publish('batch_results_ready', resultsReady('b-1'));
    await waitFor(() => recording.messages.length === 3);
    expect(client.position).toEqual({ position: 1, epoch: 'epoch-b' });
    expect(recording.deliveries[2]).toEqual({ replayed: false, position: 1, epoch: 'epoch-b' });
  });

  it('never drops, marks or counts messages without a position (legacy raw PUBLISH)', async () => {
    const { client, recording } = await started({ recent: 5 });
    await waitFor(() => client.position !== undefined);
    peer?.publish('batch_results_ready', resultsReady('positioned'));
    await waitFor(() => recording.messages.length === 1);
    const raw = frame('batch_results_ready', resultsReady('raw'));
    peer?.send(raw);
    peer?.send(raw);
    await waitFor(() => recording.messages.length === 3);
    expect(recording.deliveries.slice(1)).toEqual([{ replayed: false }, { replayed: false }]);
    expect(client.position).toEqual({ position: 1, epoch: 'epoch-a' });
  });

  it('reports a positioned message with a bad payload once, not again after a resume', async () => {
    const { client, recording } = await started();
    await waitFor(() => client.state === 'open');
    peer?.publish('batch_results_ready', { ...resultsReady('bad'), results_count: 'many' });
    await waitFor(() => recording.errors.length === 1);
    expect(recording.errors[0]?.message).toContain('data.results_count');
    expect(client.position).toEqual({ position: 1, epoch: 'epoch-a' });
    await cutAndReconnect(client);
    expect(query(1)).toMatchObject({ position: '1' });
    expect(recording.errors).toHaveLength(1);
  });
});

describe('control messages', () => {
  it('consumes ws.synced: never handed to onAny, sets the position', async () => {
    const { client, recording } = await started();
    await waitFor(() => client.position !== undefined);
    expect(client.position).toEqual({ position: 0, epoch: null });
    peer?.send(frame('ws.synced', { position: 40, epoch: 'epoch-z', replayed: 0 }));
    await waitFor(() => client.position?.position === 40);
    expect(client.position).toEqual({ position: 40, epoch: 'epoch-z' });
    expect(recording.messages).toEqual([]);
    expect(recording.errors).toEqual([]);
  });

  it('reports invalid control data as invalid_message, naming the field, and keeps its position', async () => {
    const { client, recording } = await started();
    await waitFor(() => client.state === 'open');
    peer?.publish('batch_results_ready', resultsReady('one'));
    await waitFor(() => recording.messages.length === 1);
    const bad = [
      frame('ws.synced', { position: -1, epoch: 'e', replayed: 0 }),
      frame('ws.resync', { reason: 'bored', position: 3, epoch: 'e' }),
      frame('ws.resync', { reason: 'history_lost', position: 3, epoch: 'no spaces' }),
      frame('ws.synced', 'not an object'),
    ];
    for (const text of bad) peer?.send(text);
    await waitFor(() => recording.errors.length === 4);
    expect(recording.errors.map((e) => e.code)).toEqual(Array(4).fill('invalid_message'));
    expect(recording.errors[0]?.message).toMatch(/^ws\.synced: data\.position: expected/);
    expect(recording.errors[1]?.message).toMatch(/^ws\.resync: data\.reason: expected one of/);
    expect(recording.errors[2]?.message).toMatch(/^ws\.resync: data\.epoch: expected an epoch/);
    expect(recording.errors[3]?.message).toContain('data');
    expect(recording.errors[0]?.detail).toBe(bad[0]);
    expect(recording.resyncs).toEqual([]);
    expect(recording.messages).toHaveLength(1);
    expect(client.position).toEqual({ position: 1, epoch: 'epoch-a' });
    expect(client.state).toBe('open');
  });
});

describe('onResync', () => {
  it('is called with the reason when the history was lost, and the client continues from there', async () => {
    const { client, recording } = await started();
    await waitFor(() => client.state === 'open');
    peer?.publish('batch_results_ready', resultsReady('a-1'));
    await waitFor(() => recording.messages.length === 1);
    await cutAndReconnect(client, () => {
      peer?.lose('epoch-b');
      peer?.append('batch_results_ready', resultsReady('b-1'));
      peer?.append('batch_results_ready', resultsReady('b-2'));
    });
    await waitFor(() => recording.resyncs.length === 1);
    expect(recording.resyncs[0]).toEqual({ reason: 'history_lost', position: 2, epoch: 'epoch-b' });
    expect(client.position).toEqual({ position: 2, epoch: 'epoch-b' });
    // After the resync, messages are live and positions continue in the new epoch.
    peer?.publish('batch_results_ready', resultsReady('b-3'));
    await waitFor(() => recording.messages.length === 2);
    expect(recording.deliveries[1]).toEqual({ replayed: false, position: 3, epoch: 'epoch-b' });
    await cutAndReconnect(client);
    expect(query(2)).toMatchObject({ position: '3', epoch: 'epoch-b' });
  });

  it.each([
    ['history_trimmed', (p: HistoryServer) => p.trimThrough(3)],
    [
      'replay_limit',
      (p: HistoryServer) => {
        p.maxReplay = 2;
      },
    ],
  ] as const)('says %s when the history cannot cover the gap', async (reason, limit) => {
    const { client, recording } = await started();
    await waitFor(() => client.state === 'open');
    peer?.publish('batch_results_ready', resultsReady('seen'));
    await waitFor(() => recording.messages.length === 1);
    await cutAndReconnect(client, () => {
      for (let i = 0; i < 4; i++) peer?.append('batch_results_ready', resultsReady(`m-${i}`));
      if (peer) limit(peer);
    });
    await waitFor(() => recording.resyncs.length === 1);
    expect(recording.resyncs[0]).toEqual({ reason, position: 5, epoch: 'epoch-a' });
    expect(recording.messages).toHaveLength(1); // nothing replayed: the app refetches instead
  });

  it('stops calling a handler after its unsubscribe function; a throwing one is reported', async () => {
    const { client, recording } = await started({ resumeFrom: { position: 9, epoch: 'gone' } });
    const calls: string[] = [];
    const off = client.onResync((resync) => calls.push(resync.reason));
    client.onResync(() => {
      throw new Error('refetch failed');
    });
    await waitFor(() => recording.resyncs.length === 1);
    expect(calls).toEqual(['history_lost']);
    expect(recording.errors.map((e) => e.code)).toEqual(['handler_failed']);
    off();
    await cutAndReconnect(client);
    peer?.send(frame('ws.resync', { reason: 'history_unavailable', position: 0, epoch: null }));
    await waitFor(() => recording.resyncs.length === 2);
    expect(calls).toEqual(['history_lost']);
  });
});

describe('recent', () => {
  it('asks for the last N on the first connect; they arrive replayed, in order, then live', async () => {
    peer = await startHistoryServer();
    for (let i = 1; i <= 8; i++) peer.append('batch_results_ready', resultsReady(`old-${i}`));
    const { client, recording } = testClient(peer.url, { recent: 3 });
    client.connect();
    await waitFor(() => recording.messages.length === 3);
    expect(query(0)).toEqual({ token: 'token-1', recent: '3' });
    expect(batches(recording)).toEqual(['old-6', 'old-7', 'old-8']);
    expect(replayedFlags(recording)).toEqual([true, true, true]);
    await waitFor(() => client.position?.position === 8);
    peer.publish('batch_results_ready', resultsReady('new-9'));
    await waitFor(() => recording.messages.length === 4);
    expect(recording.deliveries[3]).toEqual({ replayed: false, position: 9, epoch: 'epoch-a' });
    // A reconnect resumes; it does not ask for the last N again.
    await cutAndReconnect(client);
    expect(query(1)).toEqual({ token: 'token-2', position: '9', epoch: 'epoch-a' });
    expect(recording.messages).toHaveLength(4);
  });

  it('marks nothing as replayed on a first connect that asked for nothing', async () => {
    peer = await startHistoryServer();
    peer.append('batch_results_ready', resultsReady('old'));
    peer.server.onConnection = ({ socket }) => {
      // A live message the service merged in before its ws.synced.
      socket.send(
        JSON.stringify({
          position: 2,
          epoch: 'epoch-a',
          ...JSON.parse(frame('teacher_note', { note: 'merged live' })),
        }),
      );
      socket.send(frame('ws.synced', { position: 2, epoch: 'epoch-a', replayed: 0 }));
    };
    const { client, recording } = testClient(peer.url);
    client.connect();
    await waitFor(() => client.position?.position === 2);
    expect(recording.deliveries).toEqual([{ replayed: false, position: 2, epoch: 'epoch-a' }]);
  });

  it('resumes from an app-saved position (resumeFrom) instead of asking for recent', async () => {
    peer = await startHistoryServer();
    for (let i = 1; i <= 4; i++) peer.append('batch_results_ready', resultsReady(`b-${i}`));
    const { client, recording } = testClient(peer.url, {
      recent: 10,
      resumeFrom: { position: 2, epoch: 'epoch-a' },
    });
    expect(client.position).toEqual({ position: 2, epoch: 'epoch-a' });
    client.connect();
    await waitFor(() => recording.messages.length === 2);
    expect(query(0)).toEqual({ token: 'token-1', position: '2', epoch: 'epoch-a' });
    expect(batches(recording)).toEqual(['b-3', 'b-4']);
  });

  it('refuses a bad recent or resumeFrom with a TypeError naming the option', () => {
    expect(() => testClient('ws://127.0.0.1:1/ws', { recent: -1 })).toThrow(
      /options\.recent: expected a whole number >= 0, got number -1/,
    );
    expect(() => testClient('ws://127.0.0.1:1/ws', { recent: 2.5 })).toThrow(/options\.recent/);
    expect(() =>
      testClient('ws://127.0.0.1:1/ws', { resumeFrom: { position: 3, epoch: 'a b' } }),
    ).toThrow(/options\.resumeFrom\.epoch: expected an epoch/);
    expect(() =>
      testClient('ws://127.0.0.1:1/ws', {
        resumeFrom: JSON.parse('{"position":"3","epoch":"e"}'),
      }),
    ).toThrow(/options\.resumeFrom\.position/);
  });
});

describe('a refused resume (close 1008 resume_invalid)', () => {
  it('drops the position, reconnects without it, reports resume_refused and calls onResync', async () => {
    peer = await startHistoryServer();
    const speakContract = peer.server.onConnection;
    peer.server.onConnection = (connection) => {
      // A service that does not accept this client's resume parameters.
      if (connection.query.has('position')) connection.socket.close(1008, 'resume_invalid');
      else speakContract(connection);
    };
    const { client, recording, tokenRequests } = testClient(peer.url, {
      resumeFrom: { position: 4, epoch: 'epoch-old' },
      recent: 2,
    });
    client.connect();
    await waitFor(() => client.state === 'open' && client.position !== undefined);
    expect(query(0)).toMatchObject({ position: '4', epoch: 'epoch-old' });
    expect(query(1)).toEqual({ token: 'token-2', recent: '2' });
    expect(recording.errors.map((e) => e.code)).toEqual(['resume_refused']);
    expect(recording.errors[0]?.message).toContain('position 4 (epoch epoch-old)');
    expect(recording.resyncs).toEqual([{ reason: 'history_lost', position: 0, epoch: null }]);
    // Not taken for a refused token: no fresh token forced, no long wait.
    expect(tokenRequests[1]?.refresh).toBe(false);
    expect(peer.server.connections).toHaveLength(2);
  });
});
