import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type RedisClusterHandle,
  type RedisHandle,
  startRedis,
  startRedisCluster,
  waitFor,
} from '@huleedu/test-support';
import { historyKeys, idempotencyKey } from '@huleedu/ws-protocol';
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

/** How many times `command` ran on each node (INFO commandstats; commands a script ran count too). */
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

/** The hash slot of `key`, asked of the cluster. */
const slotOf = (key: string): Promise<number> => admin.cluster('KEYSLOT', key);

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

  it('delivers positioned messages to SSUBSCRIBErs on every shard, and counts them', async () => {
    for (const user of users) {
      const result = await notifier.publishUserNotification(user, 'class_created', {
        class_id: 'c1',
        message: `for ${user}`,
      });
      expect(result).toMatchObject({ position: 1, receivers: 1, duplicate: false });
    }
    await waitFor(() => users.every((user) => received.some((m) => m.channel === `ws:${user}`)), {
      message: 'a message on every shard',
    });
    const message = JSON.parse(received.find((m) => m.channel === `ws:${users[0]}`)!.message);
    expect(message).toMatchObject({
      position: 1,
      event: 'class_created',
      data: { message: `for ${users[0]}` },
    });
  });

  it('keeps every key of a user in the slot of the user channel, and runs the script on its shard only', async () => {
    const user = users[1]!;
    const keys = { ...historyKeys(user), idem: idempotencyKey(user, 'k') };
    const slots = await Promise.all([`ws:${user}`, ...Object.values(keys)].map(slotOf));
    expect(new Set(slots).size).toBe(1);

    const before = await Promise.all([callsPerNode('evalsha'), callsPerNode('spublish')]);
    for (let round = 0; round < 3; round++) await notifier.publish(user, 'ping_shard', {});
    const after = await Promise.all([callsPerNode('evalsha'), callsPerNode('spublish')]);
    const only = (n: number) => cluster.nodes.map((_, index) => (index === 1 ? n : 0));
    expect(after[0].map((calls, index) => calls - before[0][index]!)).toEqual(only(3));
    expect(after[1].map((calls, index) => calls - before[1][index]!)).toEqual(only(3));
    // What the shard stored is what its subscribers got.
    const reader = new Cluster(seeds());
    try {
      const entries = await reader.xrange(keys.stream, '-', '+');
      expect(entries.map(([id]) => id)).toEqual(['1-0', '2-0', '3-0', '4-0']);
    } finally {
      reader.disconnect();
    }
  });

  it('an idempotent retry on a cluster publishes once', async () => {
    const first = await notifier.publish(users[0]!, 'once', {}, { idempotencyKey: 'cluster-k' });
    const retry = await notifier.publish(users[0]!, 'once', {}, { idempotencyKey: 'cluster-k' });
    expect(retry).toEqual({ ...first, receivers: 0, duplicate: true });
  });

  it('rejects within bounded time while a master is down, and recovers when it is back', async () => {
    const quick = createNotifier({
      redis: { cluster: cluster.urls },
      publishMode: 'sharded',
      publishTimeoutMs: 5_000,
    });
    try {
      const before = await quick.publish(users[2]!, 'before_restart', {});
      await cluster.stopNode(2);
      const error = await quick.publish(users[2]!, 'while_down', {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotifierError);
      expect(['redis_unavailable', 'redis_timeout']).toContain((error as NotifierError).code);
      expect((error as Error).message).toContain(`SPUBLISH) on ws:${users[2]}`);

      await cluster.startNode(2);
      const after = await waitFor(
        () => quick.publish(users[2]!, 'after_restart', {}).catch(() => null),
        {
          timeoutMs: 30_000,
          message: 'a sharded publish to succeed after the master restarted',
        },
      );
      // The restarted master lost its data (no persistence) and its script cache: the script was
      // sent again with EVAL, and the user's history started over in a new epoch.
      expect(after).toMatchObject({ position: 1, receivers: 1 });
      expect(after.epoch).not.toBe(before.epoch);
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
      await waitFor(() => received.length === 1, { message: 'the sharded message from the CLI' });
      const message = JSON.parse(received[0]!);
      expect(message.event).toBe('batch_results_ready');
      expect(result.stdout).toBe(
        `published batch_results_ready to ws:${users[2]} at position ${message.position} of epoch ${message.epoch} (1 receiver)\n`,
      );
    } finally {
      subscriber.disconnect();
    }
  });
});

describe('classic mode on a Redis Cluster', () => {
  /**
   * One classic subscriber per node on `channel`, each confirmed by its own node (PUBSUB NUMSUB),
   * so a count or a delivery is never judged before the subscription it depends on exists.
   */
  async function subscriberPerNode(channel: string) {
    const perNode = await Promise.all(cluster.urls.map((url) => recordingSubscriber(url)));
    await Promise.all(perNode.map((subscriber) => subscriber.subscribe(channel)));
    await Promise.all(
      cluster.nodes.map(async (node) => {
        const client = new Redis(node.url);
        try {
          const [, count] = (await client.pubsub('NUMSUB', channel)) as [string, number];
          expect(count, `subscribers of ${channel} on port ${node.port}`).toBe(1);
        } finally {
          client.disconnect();
        }
      }),
    );
    return perNode;
  }

  /**
   * Publishes until every node's subscriber has had a message: the bus relays classic messages
   * best-effort (one sent while a link is being re-established is dropped). Bounded well inside
   * the test's timeout, so a failure names the nodes that got nothing.
   */
  async function untilEveryNodeHears(
    perNode: Awaited<ReturnType<typeof subscriberPerNode>>,
    publish: () => Promise<unknown>,
  ) {
    await waitFor(
      async () => perNode.every((s) => s.messages.length > 0) || void (await publish()),
      {
        intervalMs: 250,
        timeoutMs: 20_000,
        message: 'a PUBLISH to reach the subscriber on every node',
      },
    ).catch((error: Error) => {
      const deaf = perNode.flatMap((s, index) =>
        s.messages.length === 0 ? [cluster.nodes[index]!.port] : [],
      );
      throw new Error(
        `${error.message}; nothing reached the subscribers on ports ${deaf.join(', ')}`,
      );
    });
  }

  it('the script PUBLISHes on the node owning the user: counted there, broadcast to every node', async () => {
    const perNode = await subscriberPerNode(`ws:${users[0]}`);
    const notifier = createNotifier({ redis: { cluster: cluster.urls } });
    try {
      const result = await notifier.publish(users[0]!, 'broadcast', {});
      // EVALSHA is routed by its keys to node 0; its PUBLISH counts node 0's subscriber only.
      expect(result).toMatchObject({ position: expect.any(Number), receivers: 1 });
      await untilEveryNodeHears(perNode, () => notifier.publish(users[0]!, 'broadcast', {}));
      expect(JSON.parse(perNode[0]!.messages[0]!.message).position).toBe(result.position);
    } finally {
      await notifier.close();
      for (const subscriber of perNode) await subscriber.close();
    }
  }, 60_000);

  it('history: false PUBLISHes on any node; the count covers that node only', async () => {
    const perNode = await subscriberPerNode(`ws:${users[1]}`);
    const notifier = createNotifier({ redis: { cluster: cluster.urls }, history: false });
    try {
      // A keyless PUBLISH goes to whichever master ioredis picks; each has one subscriber.
      expect(await notifier.publish(users[1]!, 'broadcast', {})).toMatchObject({
        position: null,
        receivers: 1,
      });
      await untilEveryNodeHears(perNode, () => notifier.publish(users[1]!, 'broadcast', {}));
    } finally {
      await notifier.close();
      for (const subscriber of perNode) await subscriber.close();
    }
  }, 60_000);

  it('"both" reaches a classic and a sharded subscriber once each, stored once', async () => {
    const owner = cluster.nodes[2]!;
    const classic = await recordingSubscriber(owner.url);
    const sharded = await recordingSubscriber(owner.url);
    const notifier = createNotifier({ redis: { cluster: cluster.urls }, publishMode: 'both' });
    try {
      await classic.subscribe(`ws:${users[2]}`);
      await sharded.ssubscribe(`ws:${users[2]}`);
      const result = await notifier.publish(users[2]!, 'migration_probe', {});
      expect(result.receivers).toBe(2);
      await waitFor(() => classic.messages.length === 1 && sharded.messages.length === 1, {
        message: 'one copy on each kind of subscriber',
      });
      expect(classic.messages[0]!.message).toBe(sharded.messages[0]!.message);
      expect(JSON.parse(classic.messages[0]!.message).position).toBe(result.position);
    } finally {
      await notifier.close();
      await classic.close();
      await sharded.close();
    }
  });

  it('uses a caller-supplied Cluster client and leaves it open', async () => {
    const client = new Cluster(seeds());
    const subscriber = await recordingSubscriber(cluster.urls[0]!);
    try {
      await subscriber.subscribe(`ws:${users[0]}`);
      const notifier = createNotifier({ redis: client });
      expect((await notifier.publish(users[0]!, 'via_cluster_client', {})).receivers).toBe(1);
      await waitFor(() => subscriber.messages.length === 1, { message: 'the message' });
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
      expect((await notifier.publish('teacher-1', 'sharded_only', {})).receivers).toBe(1);
      await waitFor(() => sharded.messages.length === 1, { message: 'the smessage' });
      // The classic subscriber missed it: a later classic publish is the first thing it sees.
      const classicNotifier = createNotifier({ redis: redis.url });
      await classicNotifier.publish('teacher-1', 'classic', {});
      await classicNotifier.close();
      await waitFor(() => classic.messages.length === 1, { message: 'the classic message' });
      expect(JSON.parse(classic.messages[0]!.message)).toMatchObject({
        position: 2,
        event: 'classic',
      });
    } finally {
      await notifier.close();
      await sharded.close();
      await classic.close();
    }
  });
});
