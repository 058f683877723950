import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { historyKeys, resyncDataSchema, syncedDataSchema } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  connectClient,
  metricValue,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  type TestClient,
  terminateClients,
  waitUntilReady,
} from './harness.js';
import {
  lastControl,
  positionsOf,
  publishNumbered,
  publishPositioned,
  range,
  resumeUrl,
  timeline,
} from './history.js';

let redis: RedisHandle;
let service: ServiceProcess;
let publisher: Redis;

const REPLAY_MAX = 20;
const RECENT_MAX = 5;

const token = (userId: string) => signToken(userId, { secret: SECRET, expiresInSeconds: 600 });
const url = (userId: string) => service.wsUrl(token(userId));

/** Connects and waits for the socket's ws.synced or ws.resync. */
async function connectSynced(address: string): Promise<TestClient> {
  const client = connectClient(address);
  await client.opened;
  await waitFor(() => client.controls.length >= 1, { message: 'ws.synced or ws.resync' });
  return client;
}

beforeAll(async () => {
  redis = await startRedis();
  service = await startServiceProcess({
    WEBSOCKET_REDIS_URL: redis.url,
    WEBSOCKET_REPLAY_MAX_MESSAGES: String(REPLAY_MAX),
    WEBSOCKET_RECENT_MAX: String(RECENT_MAX),
  });
  publisher = new Redis(redis.url);
  await waitUntilReady(service);
});

afterEach(() => terminateClients());

afterAll(async () => {
  publisher?.disconnect();
  await service?.stop();
  await redis?.stop();
});

describe('first connect', () => {
  it('is synced at the top of an empty history (epoch null), then gets live messages from 1', async () => {
    const tab = await connectSynced(url('fresh-user'));
    expect(tab.controls).toEqual([
      { event: 'ws.synced', data: { position: 0, epoch: null, replayed: 0 } },
    ]);
    expect(syncedDataSchema.safeParse(tab.controls[0]!.data).success).toBe(true);
    const published = await publishNumbered(publisher, 'fresh-user', 3);
    await waitFor(() => tab.frames.length === 3, { message: 'three live messages' });
    expect(positionsOf(tab)).toEqual([1, 2, 3]);
    // The exact bytes the script stored and published.
    expect(JSON.parse(tab.frames[0]!)).toEqual({
      position: 1,
      epoch: published[0]!.epoch,
      published_ms: expect.any(Number),
      event: 'numbered',
      data: { n: 1 },
    });
  });

  it('with recent=N gets the last N stored messages first, then ws.synced, then live', async () => {
    const published = await publishNumbered(publisher, 'recent-user', 8);
    const epoch = published[0]!.epoch;
    const tab = await connectSynced(resumeUrl(url('recent-user'), { recent: 3 }));
    expect(timeline(tab)).toEqual(['6', '7', '8', 'synced:8']);
    expect(lastControl(tab)).toEqual({
      event: 'ws.synced',
      data: { position: 8, epoch, replayed: 3 },
    });
    await publishNumbered(publisher, 'recent-user', 1, { from: 9 });
    await waitFor(() => tab.frames.length === 4, { message: 'live after the replay' });
    expect(timeline(tab)).toEqual(['6', '7', '8', 'synced:8', '9']);
  });

  it(`caps recent at WEBSOCKET_RECENT_MAX (${RECENT_MAX}) instead of refusing it`, async () => {
    await publishNumbered(publisher, 'recent-cap', 12);
    const tab = await connectSynced(resumeUrl(url('recent-cap'), { recent: 1000 }));
    expect(positionsOf(tab)).toEqual(range(8, 12));
    expect(lastControl(tab)?.data).toMatchObject({ position: 12, replayed: RECENT_MAX });
  });

  it('without recent gets nothing old: synced at the top, live from there', async () => {
    await publishNumbered(publisher, 'no-recent', 4);
    const tab = await connectSynced(url('no-recent'));
    expect(timeline(tab)).toEqual(['synced:4']);
    await publishNumbered(publisher, 'no-recent', 2, { from: 5 });
    await waitFor(() => tab.frames.length === 2, { message: 'live messages' });
    expect(positionsOf(tab)).toEqual([5, 6]);
  });
});

describe('the handshake response', () => {
  /** Sends a raw upgrade request to `address` and resolves with the first chunk that comes back. */
  function firstChunk(address: string): Promise<string> {
    const target = new URL(address);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(target.port), target.hostname, () => {
        socket.write(
          `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
            'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
        );
      });
      socket.once('data', (chunk) => {
        socket.destroy();
        resolve(chunk.toString('latin1'));
      });
      socket.once('error', reject);
      onTestFinished(() => {
        socket.destroy();
      });
    });
  }

  it('leaves in one write with the replayed messages and ws.synced', async () => {
    await publishNumbered(publisher, 'one-write', 3);
    const chunk = await firstChunk(resumeUrl(url('one-write'), { recent: 2 }));
    expect(chunk.startsWith('HTTP/1.1 101 ')).toBe(true);
    expect(chunk).toContain('"n":2');
    expect(chunk).toContain('"n":3');
    expect(chunk).toContain('"event":"ws.synced"');
    expect(chunk).not.toContain('"n":1');
  });
});

describe("a tab joining the user's live tabs", () => {
  const reads = () => metricValue(service, 'huleedu_ws_history_reads_total');
  const joined = () => metricValue(service, 'huleedu_ws_history_joined_live_total');

  it('is synced at their position without a read, and gets what comes next once', async () => {
    const first = await connectSynced(url('joiner'));
    const published = await publishNumbered(publisher, 'joiner', 3);
    await waitFor(() => first.frames.length === 3, { message: 'live 1..3' });
    const [readsBefore, joinedBefore] = [await reads(), await joined()];
    const second = await connectSynced(url('joiner'));
    expect(second.controls).toEqual([
      { event: 'ws.synced', data: { position: 3, epoch: published[0]!.epoch, replayed: 0 } },
    ]);
    expect(await reads()).toBe(readsBefore);
    expect(await joined()).toBe(joinedBefore + 1);
    await publishNumbered(publisher, 'joiner', 2, { from: 4 });
    await waitFor(() => first.frames.length === 5 && second.frames.length === 2, {
      message: 'live 4..5 on both tabs',
    });
    expect(positionsOf(first)).toEqual(range(1, 5));
    expect(positionsOf(second)).toEqual([4, 5]);
  });

  it('is read for on a resume, even from their exact position, and with recent', async () => {
    const first = await connectSynced(url('joining-resumer'));
    const published = await publishNumbered(publisher, 'joining-resumer', 4);
    const epoch = published[0]!.epoch;
    await waitFor(() => first.frames.length === 4, { message: 'live 1..4' });
    const readsBefore = await reads();
    const exact = await connectSynced(resumeUrl(url('joining-resumer'), { position: 4, epoch }));
    expect(timeline(exact)).toEqual(['synced:4']);
    // Behind the live tabs, or with recent: the missed entries replayed.
    const behind = await connectSynced(resumeUrl(url('joining-resumer'), { position: 2, epoch }));
    expect(timeline(behind)).toEqual(['3', '4', 'synced:4']);
    const recent = await connectSynced(resumeUrl(url('joining-resumer'), { recent: 1 }));
    expect(timeline(recent)).toEqual(['4', 'synced:4']);
    expect(await reads()).toBe(readsBefore + 3);
  });

  it('tells an exact resume beside a live tab that the history is gone, once it is', async () => {
    const user = 'joining-after-loss';
    const first = await connectSynced(url(user));
    const published = await publishNumbered(publisher, user, 2);
    const epoch = published[0]!.epoch;
    await waitFor(() => first.frames.length === 2, { message: 'live 1..2' });
    // Redis lost the history (as a restart without persistence would); the live tab stands at 2.
    const keys = historyKeys(user);
    await publisher.del(keys.stream, keys.meta);
    const back = await connectSynced(resumeUrl(url(user), { position: 2, epoch }));
    expect(back.controls).toEqual([
      { event: 'ws.resync', data: { reason: 'history_lost', position: 0, epoch: null } },
    ]);
  });
});

describe('resume after a reconnect', () => {
  it('replays exactly the missed messages in order, then ws.synced, then live, with no duplicate', async () => {
    const first = await connectSynced(url('resumer'));
    const published = await publishNumbered(publisher, 'resumer', 3);
    const epoch = published[0]!.epoch;
    await waitFor(() => first.frames.length === 3, { message: 'live 1..3' });
    first.socket.close();
    await first.closed;
    // Missed while away.
    await publishNumbered(publisher, 'resumer', 5, { from: 4 });

    const back = await connectSynced(resumeUrl(url('resumer'), { position: 3, epoch }));
    expect(timeline(back)).toEqual(['4', '5', '6', '7', '8', 'synced:8']);
    expect(back.controls[0]).toEqual({
      event: 'ws.synced',
      data: { position: 8, epoch, replayed: 5 },
    });
    await publishNumbered(publisher, 'resumer', 2, { from: 9 });
    await waitFor(() => back.frames.length === 7, { message: 'live after the replay' });
    expect(positionsOf(back)).toEqual(range(4, 10));
  });

  it('loses nothing and repeats nothing while messages keep coming during the reconnect', async () => {
    const user = 'busy-resumer';
    const first = await connectSynced(url(user));
    let sent = 0;
    let publishing = true;
    const publishLoop = (async () => {
      while (publishing && sent < 400) {
        await publishPositioned(publisher, user, { event: 'numbered', data: { n: ++sent } });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const received: number[] = [];
    let client = first;
    // Five reconnects while the publisher runs, each resuming from the last position received.
    for (let round = 0; round < 5; round++) {
      await waitFor(() => positionsOf(client).length > 5, { message: `round ${round} live` });
      client.socket.terminate();
      await client.closed;
      received.push(...positionsOf(client));
      const last = received[received.length - 1]!;
      const epoch = (JSON.parse(client.frames[client.frames.length - 1]!) as { epoch: string })
        .epoch;
      client = connectClient(resumeUrl(url(user), { position: last, epoch }));
      await client.opened;
    }
    publishing = false;
    await publishLoop;
    await waitFor(() => received.length + positionsOf(client).length === sent, {
      message: `all ${sent} messages received`,
    });
    received.push(...positionsOf(client));
    expect(received).toEqual(range(1, sent));
    expect(client.controls.every((c) => c.event === 'ws.synced')).toBe(true);
  });

  it('treats position 0 without an epoch as "my history was empty": replays from 1', async () => {
    await publishNumbered(publisher, 'empty-then', 3);
    const tab = await connectSynced(resumeUrl(url('empty-then'), { position: 0 }));
    expect(timeline(tab)).toEqual(['1', '2', '3', 'synced:3']);
  });

  it('is synced with nothing to replay when the client is at the top', async () => {
    const { epoch } = (await publishNumbered(publisher, 'at-top', 2))[1]!;
    const tab = await connectSynced(resumeUrl(url('at-top'), { position: 2, epoch }));
    expect(timeline(tab)).toEqual(['synced:2']);
  });

  it('counts resumes by outcome and replayed messages in /metrics', async () => {
    expect(
      await metricValue(service, 'huleedu_ws_resumes_total{outcome="recovered",reason="none"}'),
    ).toBeGreaterThanOrEqual(3);
    expect(await metricValue(service, 'huleedu_ws_replayed_messages_total')).toBeGreaterThanOrEqual(
      8,
    );
  });
});

describe('resync when the gap cannot be covered', () => {
  it('history_trimmed: the messages after the position were trimmed away', async () => {
    const published = await publishNumbered(publisher, 'trimmed', 15, { length: 5 });
    const epoch = published[0]!.epoch;
    const tab = await connectSynced(resumeUrl(url('trimmed'), { position: 3, epoch }));
    expect(tab.frames).toEqual([]);
    expect(tab.controls).toEqual([
      { event: 'ws.resync', data: { reason: 'history_trimmed', position: 15, epoch } },
    ]);
    expect(resyncDataSchema.safeParse(tab.controls[0]!.data).success).toBe(true);
    // It continues live from the top.
    await publishNumbered(publisher, 'trimmed', 1, { from: 16, length: 5 });
    await waitFor(() => tab.frames.length === 1, { message: 'live after the resync' });
    expect(positionsOf(tab)).toEqual([16]);
  });

  it(`replay_limit: more than WEBSOCKET_REPLAY_MAX_MESSAGES (${REPLAY_MAX}) missed`, async () => {
    const published = await publishNumbered(publisher, 'far-behind', REPLAY_MAX + 6);
    const epoch = published[0]!.epoch;
    const tab = await connectSynced(resumeUrl(url('far-behind'), { position: 5, epoch }));
    expect(tab.frames).toEqual([]);
    expect(lastControl(tab)).toEqual({
      event: 'ws.resync',
      data: { reason: 'replay_limit', position: REPLAY_MAX + 6, epoch },
    });
    // Exactly at the limit is still replayed.
    const within = await connectSynced(resumeUrl(url('far-behind'), { position: 6, epoch }));
    expect(positionsOf(within)).toEqual(range(7, REPLAY_MAX + 6));
    expect(lastControl(within)?.event).toBe('ws.synced');
  });

  it('history_lost: the client is ahead of the history', async () => {
    const published = await publishNumbered(publisher, 'ahead', 3);
    const epoch = published[0]!.epoch;
    const tab = await connectSynced(resumeUrl(url('ahead'), { position: 9, epoch }));
    expect(tab.controls).toEqual([
      { event: 'ws.resync', data: { reason: 'history_lost', position: 3, epoch } },
    ]);
    await publishNumbered(publisher, 'ahead', 1, { from: 4 });
    await waitFor(() => tab.frames.length === 1, { message: 'live from the top' });
    expect(positionsOf(tab)).toEqual([4]);
  });

  it('history_lost: the client has another epoch', async () => {
    await publishNumbered(publisher, 'other-epoch', 2);
    const tab = await connectSynced(
      resumeUrl(url('other-epoch'), { position: 1, epoch: 'someOldEpoch' }),
    );
    expect(lastControl(tab)?.data).toMatchObject({ reason: 'history_lost', position: 2 });
  });

  it('history_lost: the user has no history any more while the client had one', async () => {
    const tab = await connectSynced(
      resumeUrl(url('expired-user'), { position: 7, epoch: 'expiredEpoch' }),
    );
    expect(tab.controls).toEqual([
      { event: 'ws.resync', data: { reason: 'history_lost', position: 0, epoch: null } },
    ]);
    // The next history starts at 1 in a new epoch, and the socket takes it.
    await publishNumbered(publisher, 'expired-user', 2);
    await waitFor(() => tab.frames.length === 2, { message: 'the new history, live' });
    expect(positionsOf(tab)).toEqual([1, 2]);
  });

  it('counts each resync by reason', async () => {
    for (const reason of ['history_trimmed', 'replay_limit', 'history_lost']) {
      expect(
        await metricValue(service, `huleedu_ws_resumes_total{outcome="resync",reason="${reason}"}`),
        reason,
      ).toBeGreaterThanOrEqual(1);
    }
    expect(
      await metricValue(service, 'huleedu_ws_resyncs_total{reason="history_lost"}'),
    ).toBeGreaterThanOrEqual(3);
  });
});

describe('resume parameters', () => {
  it.each([
    ['position not a number', { position: 'abc', epoch: 'e1' }],
    ['negative position', { position: '-1', epoch: 'e1' }],
    ['fractional position', { position: '1.5', epoch: 'e1' }],
    ['epoch with a character it cannot have', { position: 1, epoch: 'bad epoch!' }],
    ['epoch without a position', { epoch: 'e1' }],
    ['position above 0 without an epoch', { position: 4 }],
    ['negative recent', { recent: '-3' }],
    ['recent not a number', { recent: 'all' }],
  ])('refuses %s with 1008 resume_invalid', async (_name, params) => {
    const tab = connectClient(resumeUrl(url('bad-params'), params));
    await tab.opened;
    expect(await tab.closed).toEqual({ code: 1008, reason: 'resume_invalid' });
    expect(tab.all).toEqual([]);
  });

  it('refuses a parameter given twice, and counts the refusals', async () => {
    const tab = connectClient(`${url('bad-params')}&position=1&position=2&epoch=e1`);
    await tab.opened;
    expect(await tab.closed).toEqual({ code: 1008, reason: 'resume_invalid' });
    expect(
      await metricValue(service, 'huleedu_ws_connections_rejected_total{reason="resume_invalid"}'),
    ).toBe(9);
  });
});

describe('unpositioned (legacy raw PUBLISH) messages', () => {
  it('are delivered live, unchanged, counted, and leave the position alone', async () => {
    const tab = await connectSynced(url('legacy-mix'));
    const before = await metricValue(service, 'huleedu_ws_unpositioned_messages_total');
    await publishNumbered(publisher, 'legacy-mix', 2);
    const legacy = '{"event": "batch_file_removed", "data": {"batch_id": "b-1"}}';
    await publisher.publish('ws:legacy-mix', legacy);
    await publishNumbered(publisher, 'legacy-mix', 2, { from: 3 });
    await waitFor(() => tab.frames.length === 5, { message: 'all five' });
    expect(tab.frames[2]).toBe(legacy);
    expect(positionsOf(tab)).toEqual([1, 2, 3, 4]);
    expect(await metricValue(service, 'huleedu_ws_unpositioned_messages_total')).toBe(before + 1);
  });
});

describe('WEBSOCKET_HISTORY=off', () => {
  it('behaves as before: no control messages, no replay, resume parameters ignored, positions passed through', async () => {
    const live = await startServiceProcess({
      WEBSOCKET_REDIS_URL: redis.url,
      WEBSOCKET_HISTORY: 'off',
    });
    onTestFinished(() => live.stop());
    await waitUntilReady(live);
    const published = await publishNumbered(publisher, 'history-off', 3);
    const epoch = published[0]!.epoch;
    const resumer = connectClient(
      resumeUrl(live.wsUrl(token('history-off')), { position: 1, epoch, recent: 2 }),
    );
    // Even malformed parameters are not looked at.
    const odd = connectClient(resumeUrl(live.wsUrl(token('history-off')), { position: 'x' }));
    await Promise.all([resumer.opened, odd.opened]);
    await waitFor(
      async () =>
        Number(((await publisher.pubsub('NUMSUB', 'ws:history-off')) as [string, number])[1]) === 1,
      { message: 'subscribed' },
    );
    await publishNumbered(publisher, 'history-off', 2, { from: 4 });
    await waitFor(() => resumer.all.length === 2 && odd.all.length === 2, {
      message: 'the live messages',
    });
    // Nothing replayed, no ws.synced: only the two live messages, byte for byte as published.
    expect(positionsOf(resumer)).toEqual([4, 5]);
    expect(resumer.controls).toEqual([]);
    expect(odd.all).toEqual(resumer.all);
    expect(await metricValue(live, 'huleedu_ws_history_reads_total')).toBe(0);
  });
});
