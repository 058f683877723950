import { signToken } from '@huleedu/auth';
import { createNotifier, type Notifier } from '@huleedu/notify';
import { type RedisClusterHandle, startRedisCluster, waitFor } from '@huleedu/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ClusterProbe } from '../cluster-probe.js';
import {
  connectClient,
  httpGet,
  metricValue,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  type TestClient,
  terminateClients,
  waitUntilReady,
} from './harness.js';

let cluster: RedisClusterHandle;
let probe: ClusterProbe;
const services: ServiceProcess[] = [];
const notifiers: Notifier[] = [];

const token = (userId: string) => signToken(userId, { secret: SECRET, expiresInSeconds: 600 });
const userOn = (master: number, tag: string) => probe.userOn(master, tag);
const shardSubscribers = (userId: string) => probe.shardSubscribers(`ws:${userId}`);

function clusterEnv(pubsub: 'classic' | 'sharded'): Record<string, string> {
  return {
    WEBSOCKET_REDIS_MODE: 'cluster',
    // Two of the three seeds: the third master is discovered from the slot map.
    WEBSOCKET_REDIS_URL: cluster.urls.slice(0, 2).join(','),
    WEBSOCKET_PUBSUB: pubsub,
  };
}

function payloadOf(frame: string): Record<string, unknown> {
  return (JSON.parse(frame) as { data: Record<string, unknown> }).data;
}

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  probe = await ClusterProbe.open(cluster);
}, 120_000);

afterEach(() => terminateClients());

afterAll(async () => {
  await Promise.all(notifiers.map((notifier) => notifier.close()));
  await Promise.all(services.map((service) => service.stop()));
  probe?.close();
  await cluster?.stop();
});

describe('classic pub/sub on a Redis Cluster', () => {
  it('delivers PUBLISHed messages (broadcast by the cluster) through one subscriber connection', async () => {
    const service = await startServiceProcess(clusterEnv('classic'));
    services.push(service);
    // Stopped at the end: the next tests count the sharded instances' connections per node.
    onTestFinished(() => service.stop());
    await waitUntilReady(service, 40_000);
    expect(await metricValue(service, 'huleedu_ws_redis_subscribers')).toBe(1);
    const classic = createNotifier({ redis: { cluster: [...cluster.urls] } });
    // Without history: a durable sharded publish would be stored, and the next classic message's
    // position gap would replay it from the history (correctly), which is not what this checks.
    const sharded = createNotifier({
      redis: { cluster: [...cluster.urls] },
      publishMode: 'sharded',
      history: false,
    });
    notifiers.push(classic, sharded);

    const users = cluster.nodes.map((_, master) => userOn(master, 'classic-user'));
    const tabs = users.map((user) => connectClient(service.wsUrl(token(user))));
    await Promise.all(tabs.map((tab) => tab.opened));
    await waitFor(
      async () =>
        (await Promise.all(users.map((u) => probe.classicSubscribers(`ws:${u}`)))).every(
          (perNode) => perNode.reduce((sum, n) => sum + n, 0) === 1,
        ),
      { timeoutMs: 20_000, message: 'each channel SUBSCRIBEd once in the whole cluster' },
    );

    // A sharded publish never reaches a classic subscriber.
    expect((await sharded.publish(users[0]!, 'sharded_only', {})).receivers).toBe(0);
    for (const [index, user] of users.entries()) {
      await classic.publish(user, 'classic_event', { index });
    }
    await waitFor(() => tabs.every((tab) => tab.frames.length >= 1), {
      timeoutMs: 20_000,
      message: 'every classic notification to arrive, whichever node took the PUBLISH',
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const [index, tab] of tabs.entries()) {
      expect(tab.frames.map((f) => JSON.parse(f))).toEqual([
        expect.objectContaining({
          event: 'classic_event',
          data: expect.objectContaining({ index }),
        }),
      ]);
    }
  }, 90_000);
});

describe('sharded pub/sub on a Redis Cluster, two service instances', () => {
  let instances: ServiceProcess[];
  let notifier: Notifier;

  beforeAll(async () => {
    instances = await Promise.all([
      startServiceProcess(clusterEnv('sharded')),
      startServiceProcess(clusterEnv('sharded')),
    ]);
    services.push(...instances);
    await Promise.all(instances.map((service) => waitUntilReady(service, 40_000)));
    notifier = createNotifier({ redis: { cluster: [...cluster.urls] }, publishMode: 'sharded' });
    notifiers.push(notifier);
  }, 90_000);

  /** One tab of `userId` on each instance, open and subscribed on the user's shard. */
  async function tabsOnBothInstances(userId: string): Promise<TestClient[]> {
    const tabs = instances.map((service) => connectClient(service.wsUrl(token(userId))));
    await Promise.all(tabs.map((tab) => tab.opened));
    await waitFor(async () => (await shardSubscribers(userId)) === 2, {
      timeoutMs: 20_000,
      message: `both instances to SSUBSCRIBE ws:${userId} on its master`,
    });
    return tabs;
  }

  it('keeps one subscriber connection per master and reports ready', async () => {
    for (const service of instances) {
      expect(await httpGet(service.httpUrl('/readyz'))).toEqual({
        status: 200,
        body: '{"status":"ready"}',
      });
      expect(await metricValue(service, 'huleedu_ws_redis_subscribers')).toBe(3);
      expect(await metricValue(service, 'huleedu_ws_redis_subscribers_ready')).toBe(3);
      expect(await metricValue(service, 'huleedu_ws_redis_connected')).toBe(1);
    }
    // Each master sees one subscriber connection from each instance.
    expect(await probe.connectionsNamed('huleedu-websocket-service')).toEqual([2, 2, 2]);
  });

  it('delivers to the tabs on both instances for users on every shard, and only to them', async () => {
    const users = cluster.nodes.map((_, master) => userOn(master, 'sharded-user'));
    expect(users.map((user) => probe.ownerOf(`ws:${user}`))).toEqual([0, 1, 2]);
    const tabsByUser = new Map<string, TestClient[]>();
    for (const user of users) tabsByUser.set(user, await tabsOnBothInstances(user));

    for (const user of users) {
      const { receivers } = await notifier.publishUserNotification(user, 'batch_results_ready', {
        batch_id: `batch-${user}`,
        class_id: null,
        results_count: 3,
        message: `Results for ${user}`,
      });
      // SPUBLISH counts the shard's subscribers: one per instance holding a tab of the user.
      expect(receivers, user).toBe(2);
    }
    await waitFor(
      () => [...tabsByUser.values()].every((tabs) => tabs.every((t) => t.frames.length >= 1)),
      { timeoutMs: 20_000, message: 'every tab on both instances to receive its notification' },
    );
    // Long enough for a misrouted copy to arrive.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const [user, tabs] of tabsByUser) {
      for (const tab of tabs) {
        expect(tab.frames, user).toHaveLength(1);
        expect(JSON.parse(tab.frames[0]!)).toMatchObject({
          event: 'batch_results_ready',
          data: { batch_id: `batch-${user}`, message: `Results for ${user}` },
        });
      }
    }
  });

  it('survives a restart of the master owning a user: sockets stay open, later messages arrive', async () => {
    const master = 1;
    const user = userOn(master, 'restart-user');
    const bystander = userOn(2, 'bystander-user');
    const tabs = await tabsOnBothInstances(user);
    const others = await tabsOnBothInstances(bystander);
    const resubscribesBefore = await Promise.all(
      instances.map((service) => metricValue(service, 'huleedu_ws_redis_resubscribes_total')),
    );

    await cluster.restartNode(master);

    // Each instance noticed the shard going away and subscribed its channels there again.
    for (const [index, service] of instances.entries()) {
      await waitFor(
        async () =>
          (await metricValue(service, 'huleedu_ws_redis_resubscribes_total')) >
          resubscribesBefore[index]!,
        { timeoutMs: 30_000, message: `instance ${index} to resubscribe after the restart` },
      );
      await waitUntilReady(service, 30_000);
    }
    await waitFor(async () => (await shardSubscribers(user)) === 2, {
      timeoutMs: 30_000,
      message: 'both instances subscribed again on the restarted master',
    });
    for (const tab of [...tabs, ...others]) expect(tab.socket.readyState).toBe(tab.socket.OPEN);

    // The publisher's own connection to the restarted master may need a moment too.
    await waitFor(
      () =>
        notifier.publish(user, 'after_restart', { n: 1 }).then(
          (published) => published.receivers > 0,
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 500, message: 'a publish after the restart to succeed' },
    );
    expect((await notifier.publish(bystander, 'bystander', { n: 2 })).receivers).toBe(2);
    await waitFor(
      () =>
        tabs.every((t) => t.frames.some((f) => payloadOf(f).n === 1)) &&
        others.every((t) => t.frames.some((f) => payloadOf(f).n === 2)),
      { timeoutMs: 20_000, message: 'notifications published after the restart to arrive' },
    );
    for (const tab of tabs)
      expect(tab.frames.every((f) => JSON.parse(f).event === 'after_restart')).toBe(true);
    for (const tab of others)
      expect(tab.frames.map((f) => JSON.parse(f).event)).toEqual(['bystander']);
    for (const service of instances) {
      const lost = service
        .logLines()
        .filter((l) => l.msg === 'redis subscriber disconnected; reconnecting');
      expect(lost.map((l) => l.node)).toContain(`127.0.0.1:${cluster.nodes[master]!.port}`);
    }
  }, 120_000);
});
