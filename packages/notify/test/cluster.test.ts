import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type RedisClusterHandle,
  type RedisHandle,
  startRedis,
  startRedisCluster,
  waitFor,
} from '@huleedu/test-support';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifier, type Notifier, NotifierError } from '../src/index.js';
import { recordingSubscriber } from './subscriber.js';

let cluster: RedisClusterHandle;
let admin: Redis;
/** One user per master: `users[i]`'s channel hashes to a slot that node i owns. */
let users: string[];

const seeds = () => cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));

/** The index of the master that owns `channel`'s hash slot, asked of the cluster itself. */
async function ownerOf(channel: string): Promise<number> {
  const slot = await admin.cluster('KEYSLOT', channel);
  const ranges = await admin.cluster('SLOTS');
  const range = ranges.find(([first, last]) => slot >= first && slot <= last);
  return cluster.nodes.findIndex((node) => node.port === range?.[2]?.[1]);
}

/** How many times `command` ran on each node (INFO commandstats). */
async function callsPerNode(command: string): Promise<number[]> {
  return Promise.all(
    cluster.nodes.map(async (node) => {
      const client = new Redis(node.url);
      try {
        const stats = await client.info('commandstats');
        return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      } finally {
        client.disconnect();
      }
    }),
  );
}

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  admin = new Redis(cluster.urls[0]!);
  const found = new Map<number, string>();
  for (let i = 1; found.size < cluster.nodes.length && i <= 200; i++) {
    const owner = await ownerOf(`ws:teacher-${i}`);
    if (!found.has(owner)) found.set(owner, `teacher-${i}`);
  }
  users = cluster.nodes.map((_, index) => found.get(index)!);
  expect(users.every(Boolean)).toBe(true);
}, 90_000);

afterAll(async () => {
  admin?.disconnect();
  await cluster?.stop();
});

describe('sharded mode on a Redis Cluster', () => {
  let notifier: Notifier;
  let subscriber: Cluster;
  const received: { channel: string; message: string }[] = [];

  beforeAll(async () => {
    notifier = createNotifier({ redis: { cluster: cluster.urls }, publishMode: 'sharded' });
    // How a service instance subscribes in sharded mode: one subscriber connection per master
    // (shardedSubscribers), one SSUBSCRIBE per channel (channels hash to different slots).
    subscriber = new Cluster(seeds(), { shardedSubscribers: true });
    // Expected while a master is down; what matters is that messages flow again afterwards.
    subscriber.on('error', () => {});
    subscriber.on('smessage', (channel: string, message: string) =>
      received.push({ channel, message }),
    );
    for (const user of users) await subscriber.ssubscribe(`ws:${user}`);
  });

  afterAll(async () => {
    await notifier?.close();
    subscriber?.disconnect();
  });

  it('delivers to SSUBSCRIBErs on every shard, and counts them', async () => {
    for (const user of users) {
      expect(
        await notifier.publishUserNotification(user, 'class_created', {
          class_id: 'c1',
          message: `for ${user}`,
        }),
      ).toBe(1);
    }
    await waitFor(() => users.every((user) => received.some((m) => m.channel === `ws:${user}`)), {
      message: 'a message on every shard',
    });
    const message = JSON.parse(received.find((m) => m.channel === `ws:${users[0]}`)!.message);
    expect(message).toMatchObject({ event: 'class_created', data: { message: `for ${users[0]}` } });
  });

  it('sends each SPUBLISH only to the shard that owns the user channel', async () => {
    const before = await callsPerNode('spublish');
    for (let round = 0; round < 3; round++) await notifier.publish(users[1]!, 'ping_shard', {});
    const after = await callsPerNode('spublish');
    const delta = after.map((calls, index) => calls - before[index]!);
    expect(delta).toEqual(cluster.nodes.map((_, index) => (index === 1 ? 3 : 0)));
  });

  it('rejects within bounded time while a master is down, and recovers when it is back', async () => {
    const quick = createNotifier({
      redis: { cluster: cluster.urls },
      publishMode: 'sharded',
      publishTimeoutMs: 5_000,
    });
    try {
      await cluster.stopNode(2);
      const error = await quick.publish(users[2]!, 'while_down', {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotifierError);
      expect(['redis_unavailable', 'redis_timeout']).toContain((error as NotifierError).code);
      expect((error as Error).message).toContain(`SPUBLISH on ws:${users[2]}`);

      await cluster.startNode(2);
      const receivers = await waitFor(
        () => quick.publish(users[2]!, 'after_restart', {}).catch(() => 0),
        {
          timeoutMs: 30_000,
          message: 'a sharded publish to succeed after the master restarted',
        },
      );
      expect(receivers).toBe(1);
      // The subscriber side re-subscribed too (ioredis re-creates the shard's subscriber).
      await waitFor(
        () =>
          received.some(
            (m) => m.channel === `ws:${users[2]}` && m.message.includes('after_restart'),
          ),
        { timeoutMs: 15_000, message: 'the re-subscribed shard subscriber to get the message' },
      );
    } finally {
      await quick.close();
      await cluster.waitUntilHealthy();
    }
  }, 90_000);
});

describe('huleedu-notify on a Redis Cluster', () => {
  it('publishes with --cluster --publish-mode sharded', async () => {
    const subscriber = new Cluster(seeds(), { shardedSubscribers: true });
    subscriber.on('error', () => {});
    const received: string[] = [];
    subscriber.on('smessage', (_channel: string, message: string) => received.push(message));
    try {
      await subscriber.ssubscribe(`ws:${users[2]}`);
      const result = spawnSync(
        process.execPath,
        [
          fileURLToPath(new URL('../bin/huleedu-notify.js', import.meta.url)),
          '--cluster',
          '--redis',
          cluster.urls.join(','),
          '--publish-mode',
          'sharded',
          '--user',
          users[2]!,
          '--type',
          'batch_results_ready',
          '--data',
          '{"batch_id":"b1","results_count":3,"message":"Results ready"}',
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`published batch_results_ready to ws:${users[2]} (1 receiver)\n`);
      await waitFor(() => received.length === 1, { message: 'the sharded message from the CLI' });
      expect(JSON.parse(received[0]!).event).toBe('batch_results_ready');
    } finally {
      subscriber.disconnect();
    }
  });
});

describe('classic mode on a Redis Cluster', () => {
  it('PUBLISH is broadcast to subscribers on every node; the count covers one node only', async () => {
    const perNode = await Promise.all(cluster.urls.map((url) => recordingSubscriber(url)));
    const notifier = createNotifier({ redis: { cluster: cluster.urls } });
    try {
      for (const subscriber of perNode) await subscriber.subscribe(`ws:${users[0]}`);
      // Only the subscriber on the node that took the PUBLISH is counted.
      expect(await notifier.publish(users[0]!, 'broadcast', {})).toBe(1);
      // The cluster bus relays classic messages best-effort (a bus link being re-established
      // drops them), so publish again until every node's subscriber has had one.
      await waitFor(
        async () =>
          perNode.every((subscriber) => subscriber.messages.length > 0) ||
          void (await notifier.publish(users[0]!, 'broadcast', {})),
        // Generous: on a loaded machine a bus link can take several seconds to come back.
        {
          intervalMs: 250,
          timeoutMs: 30_000,
          message: 'a PUBLISH to reach the subscriber on every node',
        },
      );
    } finally {
      await notifier.close();
      for (const subscriber of perNode) await subscriber.close();
    }
  });

  it('uses a caller-supplied Cluster client and leaves it open', async () => {
    const client = new Cluster(seeds());
    const subscriber = await recordingSubscriber(cluster.urls[0]!);
    try {
      await subscriber.subscribe(`ws:${users[1]}`);
      const notifier = createNotifier({ redis: client });
      expect(await notifier.publish(users[1]!, 'via_cluster_client', {})).toBeGreaterThanOrEqual(0);
      await waitFor(() => subscriber.messages.length === 1, { message: 'the broadcast message' });
      await notifier.close();
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
      await subscriber.close();
    }
  });
});

describe('sharded mode on a single Redis', () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('SPUBLISH reaches SSUBSCRIBErs and not classic SUBSCRIBErs', async () => {
    const sharded = await recordingSubscriber(redis.url);
    const classic = await recordingSubscriber(redis.url);
    const notifier = createNotifier({ redis: redis.url, publishMode: 'sharded' });
    try {
      await sharded.ssubscribe('ws:teacher-1');
      await classic.subscribe('ws:teacher-1');
      expect(await notifier.publish('teacher-1', 'sharded_only', {})).toBe(1);
      await waitFor(() => sharded.messages.length === 1, { message: 'the smessage' });
      // The classic subscriber missed it: a later classic publish is the first thing it sees.
      const classicNotifier = createNotifier({ redis: redis.url });
      await classicNotifier.publish('teacher-1', 'classic', {});
      await classicNotifier.close();
      await waitFor(() => classic.messages.length === 1, { message: 'the classic message' });
      expect(JSON.parse(classic.messages[0]!.message).event).toBe('classic');
    } finally {
      await notifier.close();
      await sharded.close();
      await classic.close();
    }
  });
});
