import { freePort, type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PubSubMode } from '../src/config.js';
import { Backplane } from '../src/redis/backplane.js';
import { captureLogger } from './helpers.js';

let redis: RedisHandle;
let admin: Redis;
const backplanes: Backplane[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
});

afterEach(async () => {
  await Promise.all(backplanes.splice(0).map((b) => b.close()));
});

afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

function createBackplane(url: string, prefix = 'ws', pubsub: PubSubMode = 'classic') {
  const received: Array<[string, string]> = [];
  const log = captureLogger();
  const backplane = new Backplane({
    redis: { mode: 'standalone', url },
    pubsub,
    channelPrefix: prefix,
    logger: log.logger,
    onMessage: (userId, payload) => received.push([userId, payload.toString()]),
  });
  backplanes.push(backplane);
  return { backplane, received, log };
}

/** How many subscribers Redis has for a channel (what PUBLISH would reach). */
async function subscribers(channel: string, client = admin): Promise<number> {
  const reply = (await client.pubsub('NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

describe('Backplane', () => {
  it('subscribes a channel for the first socket and unsubscribes after the last', async () => {
    const { backplane, received } = createBackplane(redis.url);
    backplane.start();
    await waitFor(() => backplane.connected, { message: 'backplane connected' });

    backplane.retain('teacher-1');
    backplane.retain('teacher-1');
    await waitFor(async () => (await subscribers('ws:teacher-1')) === 1, { message: 'subscribed' });
    expect(backplane.channelCount).toBe(1);

    await admin.publish('ws:teacher-1', '{"event":"x","data":{}}');
    await waitFor(() => received.length === 1, { message: 'message received' });
    expect(received[0]).toEqual(['teacher-1', '{"event":"x","data":{}}']);

    // One of two sockets leaves: still subscribed.
    backplane.release('teacher-1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await subscribers('ws:teacher-1')).toBe(1);

    backplane.release('teacher-1');
    await waitFor(async () => (await subscribers('ws:teacher-1')) === 0, {
      message: 'unsubscribed',
    });
    expect(backplane.channelCount).toBe(0);
    // Releasing an unknown user is harmless.
    backplane.release('teacher-1');
    expect(backplane.channelCount).toBe(0);
  });

  it('uses one Redis connection no matter how many users it carries', async () => {
    const { backplane } = createBackplane(redis.url);
    backplane.start();
    await waitFor(() => backplane.connected, { message: 'backplane connected' });
    const before = (await admin.client('LIST')) as string;
    for (let i = 0; i < 200; i++) backplane.retain(`user-${i}`);
    await waitFor(async () => (await subscribers('ws:user-199')) === 1, { message: 'subscribed' });
    const list = (await admin.client('LIST')) as string;
    const ours = list.split('\n').filter((line) => line.includes('name=huleedu-websocket-service'));
    expect(ours.length).toBe(
      before.split('\n').filter((l) => l.includes('name=huleedu-websocket-service')).length,
    );
    expect(ours.length).toBeGreaterThanOrEqual(1);
    expect(backplane.channelCount).toBe(200);
  });

  it('reports a channel subscribed only once Redis confirmed it, and every channel again after a reconnect', async () => {
    const reports: Array<{ userIds: string[]; resubscribed: boolean; numsub: Promise<number> }> =
      [];
    const log = captureLogger();
    const backplane = new Backplane({
      redis: { mode: 'standalone', url: redis.url },
      channelPrefix: 'ws',
      logger: log.logger,
      onMessage: () => undefined,
      onSubscribed: (userIds, resubscribed) =>
        reports.push({
          userIds: [...userIds],
          resubscribed,
          // What Redis says at the moment of the report.
          numsub: subscribers(`ws:${userIds[0]}`),
        }),
    });
    backplanes.push(backplane);
    backplane.start();
    await waitFor(() => backplane.connected, { message: 'backplane connected' });

    backplane.retain('confirmed-1');
    expect(backplane.isSubscribed('confirmed-1')).toBe(false);
    await waitFor(() => backplane.isSubscribed('confirmed-1'), { message: 'confirmed' });
    expect(reports.map(({ userIds, resubscribed }) => ({ userIds, resubscribed }))).toEqual([
      { userIds: ['confirmed-1'], resubscribed: false },
    ]);
    expect(await reports[0]!.numsub).toBe(1);
    // A second socket of the same user: already confirmed, nothing new to report.
    backplane.retain('confirmed-1');
    backplane.retain('confirmed-2');
    await waitFor(() => backplane.isSubscribed('confirmed-2'), { message: 'second user' });
    expect(reports).toHaveLength(2);

    await admin.client('KILL', 'TYPE', 'pubsub');
    await waitFor(() => reports.length === 3, { message: 'reported again after the reconnect' });
    expect(reports[2]).toMatchObject({ resubscribed: true });
    expect(reports[2]!.userIds.sort()).toEqual(['confirmed-1', 'confirmed-2']);
    expect(backplane.isSubscribed('confirmed-1')).toBe(true);

    backplane.release('confirmed-2');
    expect(backplane.isSubscribed('confirmed-2')).toBe(false);
    // Dropped and wanted again in one tick: confirmed again by the new SUBSCRIBE only.
    backplane.release('confirmed-1');
    backplane.release('confirmed-1');
    backplane.retain('confirmed-1');
    expect(backplane.isSubscribed('confirmed-1')).toBe(false);
    await waitFor(() => backplane.isSubscribed('confirmed-1'), { message: 'confirmed again' });
    expect(reports.at(-1)).toMatchObject({ userIds: ['confirmed-1'], resubscribed: false });
  });

  it('drops a subscription that came and went within one tick', async () => {
    const { backplane } = createBackplane(redis.url, 'blink');
    backplane.start();
    await waitFor(() => backplane.connected, { message: 'backplane connected' });
    backplane.retain('u');
    backplane.release('u');
    backplane.retain('v');
    await waitFor(async () => (await subscribers('blink:v')) === 1, { message: 'v subscribed' });
    expect(await subscribers('blink:u')).toBe(0);
  });

  it('starts while Redis is down and becomes connected, with its channels, when Redis appears', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const { backplane, received } = createBackplane(url);
    backplane.start();
    backplane.retain('early-user');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(backplane.connected).toBe(false);

    const late = await startRedis({ port });
    try {
      await waitFor(() => backplane.connected, { timeoutMs: 15_000, message: 'connected late' });
      const client = new Redis(late.url);
      try {
        expect(await subscribers('ws:early-user', client)).toBe(1);
        await client.publish('ws:early-user', '{"event":"e","data":{}}');
        await waitFor(() => received.length === 1, { message: 'delivered after late start' });
      } finally {
        client.disconnect();
      }
    } finally {
      await backplane.close();
      await late.stop();
    }
  });

  it('resubscribes every channel after a Redis restart, including ones added while it was down', async () => {
    const own = await startRedis();
    const { backplane, received, log } = createBackplane(own.url);
    try {
      backplane.start();
      await waitFor(() => backplane.connected, { message: 'connected' });
      for (let i = 0; i < 1500; i++) backplane.retain(`r-${i}`);
      backplane.retain('leaves-while-down');

      await own.stop();
      await waitFor(() => !backplane.connected, { message: 'noticed the outage' });
      backplane.retain('joined-while-down');
      backplane.release('leaves-while-down');
      await own.start();
      await waitFor(() => backplane.connected, { timeoutMs: 15_000, message: 'reconnected' });

      const client = new Redis(own.url);
      try {
        for (const channel of ['ws:r-0', 'ws:r-1499', 'ws:joined-while-down']) {
          expect(await subscribers(channel, client)).toBe(1);
        }
        expect(await subscribers('ws:leaves-while-down', client)).toBe(0);
        // Exactly the wanted channels: 1500 + joined-while-down, not the one that left.
        const channels = (await client.pubsub('CHANNELS', 'ws:*')) as string[];
        expect(channels.length).toBe(1501);
        await client.publish('ws:r-1499', '{"event":"after","data":{}}');
        await waitFor(() => received.some(([u]) => u === 'r-1499'), { message: 'delivered' });
      } finally {
        client.disconnect();
      }
      const messages = log.lines.map((l) => l.msg);
      expect(messages).toContain('redis subscriber disconnected; reconnecting');
    } finally {
      await backplane.close();
      await own.stop();
    }
  });

  it('uses SSUBSCRIBE in sharded mode: SPUBLISH reaches it, PUBLISH does not', async () => {
    const { backplane, received } = createBackplane(redis.url, 'shard', 'sharded');
    backplane.start();
    await waitFor(() => backplane.connected, { message: 'connected' });
    // Channels of many hash slots in one batch: a standalone Redis takes them in one command.
    for (let i = 0; i < 300; i++) backplane.retain(`s-${i}`);
    const shardSubscribers = async (channel: string) =>
      Number(((await admin.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]);
    await waitFor(async () => (await shardSubscribers('shard:s-299')) === 1, {
      message: 'sharded subscriptions',
    });
    expect(await shardSubscribers('shard:s-0')).toBe(1);
    expect(await subscribers('shard:s-0')).toBe(0);

    expect(await admin.publish('shard:s-7', '{"event":"classic","data":{}}')).toBe(0);
    expect(await admin.spublish('shard:s-7', '{"event":"sharded","data":{}}')).toBe(1);
    await waitFor(() => received.length === 1, { message: 'the sharded message' });
    expect(received).toEqual([['s-7', '{"event":"sharded","data":{}}']]);

    for (let i = 0; i < 300; i++) backplane.release(`s-${i}`);
    await waitFor(async () => (await shardSubscribers('shard:s-299')) === 0, {
      message: 'sharded unsubscriptions',
    });
    expect(backplane.connected).toBe(true);
  });

  it('retries a subscription Redis refused, and is not connected until Redis accepts it', async () => {
    const own = await startRedis();
    const client = new Redis(own.url);
    try {
      // A Redis user that may not subscribe to `blocked:*` (yet).
      await client.acl('SETUSER', 'limited', 'on', '>pw', '~*', '+@all', 'resetchannels');
      const { backplane, received, log } = createBackplane(
        `redis://limited:pw@127.0.0.1:${own.port}`,
        'blocked',
      );
      backplane.start();
      await waitFor(() => backplane.connected, { message: 'connected without channels' });
      backplane.retain('x');
      await waitFor(() => !backplane.connected && backplane.subscribeFailures > 0, {
        message: 'the refusal to turn the backplane not connected',
      });
      expect(log.lines.find((l) => l.msg === 'redis subscribe failed')).toMatchObject({
        level: 'warn',
        err: expect.stringContaining('NOPERM'),
      });

      await client.acl('SETUSER', 'limited', '&blocked:*');
      await waitFor(() => backplane.connected, { timeoutMs: 15_000, message: 'accepted on retry' });
      expect(await subscribers('blocked:x', client)).toBe(1);
      await client.publish('blocked:x', '{"event":"finally","data":{}}');
      await waitFor(() => received.length === 1, { message: 'delivered after the retry' });
      await backplane.close();
    } finally {
      client.disconnect();
      await own.stop();
    }
  });

  it('says so when sharded mode meets a Redis without SSUBSCRIBE (older than 7)', async () => {
    // Renaming the command away makes this Redis 7 answer like an old one: unknown command.
    const old = await startRedis({ args: ['--rename-command', 'SSUBSCRIBE', 'GONE-SSUBSCRIBE'] });
    try {
      const { backplane, log } = createBackplane(old.url, 'ws', 'sharded');
      backplane.start();
      backplane.retain('teacher-1');
      await waitFor(() => log.lines.some((l) => l.level === 'error'), {
        message: 'an error line about the missing command',
      });
      expect(log.lines.find((l) => l.level === 'error')).toMatchObject({
        msg: expect.stringContaining('WEBSOCKET_PUBSUB=sharded needs Redis 7 or later'),
        err: expect.stringContaining('unknown command'),
      });
      expect(backplane.connected).toBe(false);
      await backplane.close();
    } finally {
      await old.stop();
    }
  });

  it('leaves Redis on close, so its channels lose their subscriber', async () => {
    const { backplane, received } = createBackplane(redis.url, 'only');
    backplane.start();
    await waitFor(() => backplane.connected, { message: 'connected' });
    backplane.retain('x');
    await waitFor(async () => (await subscribers('only:x')) === 1, { message: 'subscribed' });
    await backplane.close();
    expect(backplane.connected).toBe(false);
    await waitFor(async () => (await subscribers('only:x')) === 0, { message: 'left redis' });
    expect(await admin.publish('only:x', '{"event":"late","data":{}}')).toBe(0);
    expect(received).toEqual([]);
  });
});
