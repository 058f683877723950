import {
  freePort,
  type RedisClusterHandle,
  startRedisCluster,
  waitFor,
} from '@huleedu/test-support';
import calculateSlot from 'cluster-key-slot';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PubSubMode } from '../src/config.js';
import { Backplane } from '../src/redis/backplane.js';
import { ClusterProbe } from './cluster-probe.js';
import { captureLogger } from './helpers.js';

const NAME = 'huleedu-websocket-service';
let cluster: RedisClusterHandle;
let probe: ClusterProbe;
const backplanes: Backplane[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  probe = await ClusterProbe.open(cluster);
}, 120_000);

afterEach(async () => {
  await Promise.all(backplanes.splice(0).map((b) => b.close()));
  // A test that stopped a node has started it again; the next test needs a whole cluster.
  await cluster.waitUntilHealthy();
});

afterAll(async () => {
  probe?.close();
  await cluster?.stop();
});

/** SSUBSCRIBErs of `channel` on master `index`, whether or not it owns the slot. */
async function shardNumsub(index: number, channel: string): Promise<number> {
  const reply = (await probe.client(index).call('PUBSUB', 'SHARDNUMSUB', channel)) as [
    string,
    number,
  ];
  return Number(reply[1]);
}

/** Moves an empty hash slot between masters (the resharding steps, without keys to migrate). */
async function moveSlot(slot: number, from: number, to: number): Promise<void> {
  const source = probe.client(from);
  const target = probe.client(to);
  const [sourceId, targetId] = (await Promise.all([
    source.cluster('MYID'),
    target.cluster('MYID'),
  ])) as [string, string];
  await target.cluster('SETSLOT', slot, 'IMPORTING', sourceId);
  await source.cluster('SETSLOT', slot, 'MIGRATING', targetId);
  await target.cluster('SETSLOT', slot, 'NODE', targetId);
  await source.cluster('SETSLOT', slot, 'NODE', targetId);
  await waitFor(
    async () => {
      const slots = await probe.client(3 - from - to).cluster('SLOTS');
      const range = slots.find(([first, last]) => slot >= first && slot <= last);
      return range?.[2]?.[1] === cluster.nodes[to]!.port;
    },
    { message: `slot ${slot} to move to master ${to}` },
  );
}

function createBackplane(pubsub: PubSubMode, nodes: readonly string[] = cluster.urls.slice(0, 1)) {
  const received: Array<[string, string]> = [];
  const log = captureLogger();
  const backplane = new Backplane({
    redis: { mode: 'cluster', nodes },
    pubsub,
    channelPrefix: 'ws',
    logger: log.logger,
    onMessage: (userId, payload) => received.push([userId, payload.toString()]),
  });
  backplanes.push(backplane);
  return { backplane, received, log };
}

describe('Backplane on a Redis Cluster, sharded pub/sub', () => {
  it('keeps one connection per master and SSUBSCRIBEs each channel on the master owning its slot', async () => {
    const { backplane, received } = createBackplane('sharded');
    backplane.start();
    await waitFor(() => backplane.connected, { timeoutMs: 20_000, message: 'connected' });
    expect(backplane.subscriberCount).toBe(3);
    expect(await probe.connectionsNamed(NAME)).toEqual([1, 1, 1]);

    // Many users per shard: the link groups them by slot (one SSUBSCRIBE may not span slots).
    const users = Array.from({ length: 60 }, (_, i) => `many-${i}`);
    for (const user of users) backplane.retain(user);
    await waitFor(
      async () =>
        (await Promise.all(users.map((u) => probe.shardSubscribers(`ws:${u}`)))).every(
          (n) => n === 1,
        ),
      { timeoutMs: 20_000, message: 'every channel subscribed on its master' },
    );
    expect(new Set(users.map((u) => probe.ownerOf(`ws:${u}`)))).toEqual(new Set([0, 1, 2]));
    expect(backplane.connected).toBe(true);

    // A message published on each shard reaches the backplane with its user.
    const perShard = [0, 1, 2].map((master) => probe.userOn(master, 'many'));
    for (const [master, user] of perShard.entries()) {
      expect(await probe.client(master).spublish(`ws:${user}`, `{"to":"${user}"}`)).toBe(1);
    }
    await waitFor(() => received.length === 3, { message: 'a message from every shard' });
    expect(received.sort()).toEqual(perShard.map((u) => [u, `{"to":"${u}"}`]).sort());

    // The last release unsubscribes on the owning master; the others keep theirs.
    for (const user of users.slice(1)) backplane.release(user);
    await waitFor(async () => (await probe.shardSubscribers(`ws:${users[1]}`)) === 0, {
      message: 'unsubscribed',
    });
    expect(await probe.shardSubscribers(`ws:${users[0]}`)).toBe(1);
    expect(backplane.channelCount).toBe(1);
  });

  it('survives a master restart: not connected while it is down, every channel back afterwards', async () => {
    const { backplane, received, log } = createBackplane('sharded', cluster.urls);
    backplane.start();
    await waitFor(() => backplane.connected, { timeoutMs: 20_000, message: 'connected' });
    const master = 2;
    const user = probe.userOn(master, 'restart');
    const other = probe.userOn(0, 'other');
    backplane.retain(user);
    backplane.retain(other);
    await waitFor(async () => (await probe.shardSubscribers(`ws:${user}`)) === 1, {
      message: 'subscribed before the restart',
    });

    await cluster.stopNode(master);
    await waitFor(() => !backplane.connected, { message: 'not connected while a master is down' });
    expect(backplane.readySubscriberCount).toBe(2);
    // The other shards keep delivering meanwhile.
    await waitFor(async () => (await probe.client(0).spublish(`ws:${other}`, 'during')) === 1, {
      message: 'a shard that is up still delivers',
    });
    // A user arriving while their shard is down is subscribed when it returns.
    const late = probe.userOn(master, 'late');
    backplane.retain(late);

    await cluster.startNode(master);
    await waitFor(() => backplane.connected, { timeoutMs: 30_000, message: 'connected again' });
    for (const channel of [`ws:${user}`, `ws:${late}`]) {
      expect(await probe.shardSubscribers(channel), channel).toBe(1);
    }
    expect(backplane.resubscribes).toBeGreaterThanOrEqual(4); // 3 first connects + the restart
    await waitFor(async () => (await probe.client(master).spublish(`ws:${late}`, 'after')) === 1, {
      timeoutMs: 10_000,
      message: 'the restarted master to take SPUBLISH',
    });
    await waitFor(() => received.some(([u, m]) => u === late && m === 'after'), {
      message: 'delivered after the restart',
    });
    expect(received.some(([u, m]) => u === other && m === 'during')).toBe(true);
    expect(log.lines.map((l) => l.msg)).toContain('redis subscriber disconnected; reconnecting');
  }, 90_000);

  it('follows a slot that moves to another master (resharding)', async () => {
    const { backplane, received } = createBackplane('sharded');
    backplane.start();
    await waitFor(() => backplane.connected, { timeoutMs: 20_000, message: 'connected' });
    const [from, to] = [0, 1];
    const user = probe.userOn(from, 'moving');
    const slot = calculateSlot(`ws:${user}`);
    backplane.retain(user);
    await waitFor(async () => (await probe.shardSubscribers(`ws:${user}`)) === 1, {
      message: 'subscribed on the first owner',
    });

    await moveSlot(slot, from, to);
    try {
      // The slot map is refreshed every 2 s: the channel follows its slot to the new owner.
      await waitFor(async () => (await shardNumsub(to, `ws:${user}`)) === 1, {
        timeoutMs: 20_000,
        message: 'the channel to be subscribed on the new owner',
      });
      await waitFor(() => backplane.connected, { message: 'connected after the move' });
      expect(await probe.client(to).spublish(`ws:${user}`, 'moved')).toBe(1);
      await waitFor(() => received.some(([u, m]) => u === user && m === 'moved'), {
        message: 'delivered from the new owner',
      });
    } finally {
      await moveSlot(slot, to, from);
    }
  }, 60_000);

  it('does not become connected while no seed answers, and closes promptly', async () => {
    const { backplane, log } = createBackplane('sharded', [
      `redis://127.0.0.1:${await freePort()}`,
    ]);
    backplane.start();
    backplane.retain('nobody');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(backplane.connected).toBe(false);
    expect(backplane.subscriberCount).toBe(0);
    await backplane.close();
    expect(log.lines.some((l) => l.msg === 'redis cluster error')).toBe(true);
  });
});

describe('Backplane on a Redis Cluster, classic pub/sub', () => {
  it('subscribes through one node, and moves to another master when that node stops', async () => {
    const { backplane, received, log } = createBackplane('classic', cluster.urls);
    backplane.start();
    await waitFor(() => backplane.connected, { timeoutMs: 20_000, message: 'connected' });
    expect(backplane.subscriberCount).toBe(1);
    backplane.retain('classic-user');
    const perNode = await waitFor(
      async () => {
        const counts = await probe.classicSubscribers('ws:classic-user');
        return counts.reduce((sum, n) => sum + n, 0) === 1 ? counts : undefined;
      },
      { message: 'subscribed on exactly one node' },
    );
    const first = perNode.indexOf(1);

    await cluster.stopNode(first);
    try {
      await waitFor(
        async () => {
          const counts = await probe.classicSubscribers('ws:classic-user', first);
          return backplane.connected && counts.reduce((sum, n) => sum + n, 0) === 1;
        },
        { timeoutMs: 30_000, message: 'subscribed again on another master' },
      );
      expect(log.lines.map((l) => l.msg)).toContain(
        'redis subscriber moved to another cluster node',
      );
      // PUBLISH on any live node is broadcast to the new subscriber's node.
      const live = [0, 1, 2].find((index) => index !== first)!;
      await waitFor(
        async () => {
          await probe.client(live).publish('ws:classic-user', 'after-move');
          return received.some(([u, m]) => u === 'classic-user' && m === 'after-move');
        },
        { timeoutMs: 15_000, intervalMs: 500, message: 'a PUBLISH to arrive after the move' },
      );
    } finally {
      await cluster.startNode(first);
    }
  }, 90_000);
});
