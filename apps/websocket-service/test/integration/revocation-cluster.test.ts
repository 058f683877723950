import { signToken } from '@huleedu/auth';
import { createNotifier, type Notifier } from '@huleedu/notify';
import { type RedisClusterHandle, startRedisCluster, waitFor } from '@huleedu/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterProbe } from '../cluster-probe.js';
import {
  connectClient,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

// disconnectUser on a Redis Cluster: the command travels on the user's own channel, so it
// reaches exactly the instances subscribed to it, whether they SUBSCRIBE (classic) or SSUBSCRIBE
// on the user's shard (sharded); the revocation key sits in the same slot as that channel.

const now = () => Math.floor(Date.now() / 1000);
const tokenIssued = (userId: string, ageSeconds: number) =>
  signToken(userId, { secret: SECRET, claims: { iat: now() - ageSeconds, exp: now() + 600 } });

let cluster: RedisClusterHandle;
let probe: ClusterProbe;
const services: ServiceProcess[] = [];
const notifiers: Notifier[] = [];

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

describe.each(['classic', 'sharded'] as const)('disconnectUser, %s pub/sub', (pubsub) => {
  let instances: ServiceProcess[];
  let notifier: Notifier;

  beforeAll(async () => {
    const env = {
      WEBSOCKET_REDIS_MODE: 'cluster',
      WEBSOCKET_REDIS_URL: cluster.urls.slice(0, 2).join(','),
      WEBSOCKET_PUBSUB: pubsub,
      LOG_LEVEL: 'info',
    };
    instances = await Promise.all([startServiceProcess(env), startServiceProcess(env)]);
    services.push(...instances);
    await Promise.all(instances.map((service) => waitUntilReady(service, 40_000)));
    notifier = createNotifier({ redis: { cluster: [...cluster.urls] }, publishMode: pubsub });
    notifiers.push(notifier);
  }, 90_000);

  afterAll(async () => {
    // The next mode counts its own subscribers.
    await Promise.all(instances.map((service) => service.stop()));
  });

  it('closes the sockets on both instances, then refuses the old token and admits a fresh one', async () => {
    // A user on the third master: neither seed, so slot routing is really exercised.
    const userId = probe.userOn(2, `cut-${pubsub}`);
    const channel = `ws:${userId}`;
    const oldToken = tokenIssued(userId, 120);
    const tabs = instances.map((service) => connectClient(service.wsUrl(oldToken)));
    await Promise.all(tabs.map((tab) => tab.opened));
    await waitFor(
      async () =>
        pubsub === 'sharded'
          ? (await probe.shardSubscribers(channel)) === 2
          : (await probe.classicSubscribers(channel)).reduce((sum, n) => sum + n, 0) === 2,
      { timeoutMs: 20_000, message: `both instances subscribed to ${channel}` },
    );

    await notifier.disconnectUser(userId, { reason: 'logout', issuedBefore: new Date() });
    for (const tab of tabs) {
      expect(await tab.closed).toEqual({ code: 1008, reason: 'token_revoked' });
      expect(tab.all.filter((frame) => frame.includes('ws.disconnect'))).toEqual([]);
    }
    const owner = probe.client(probe.ownerOf(channel));
    expect(await owner.ttl(`{${channel}}:revoked_before`)).toBeGreaterThan(86_000);

    for (const service of instances) {
      const retry = connectClient(service.wsUrl(oldToken));
      expect(await retry.closed).toEqual({ code: 1008, reason: 'token_revoked' });
      const fresh = connectClient(service.wsUrl(tokenIssued(userId, 0)));
      await fresh.opened;
    }
  }, 60_000);
});
