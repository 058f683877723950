import { signToken } from '@huleedu/auth';
import { type RedisClusterHandle, startRedisCluster, waitFor } from '@huleedu/test-support';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ClusterProbe } from '../cluster-probe.js';
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
import { positionsOf, publishNumbered, range, resumeUrl, timeline } from './history.js';

// Resume and catch-up on a 3-master Redis Cluster: each user's history and channel share one hash
// slot, the publish script runs on its owner, and the service reads it there.

let cluster: RedisClusterHandle;
let probe: ClusterProbe;
let publisher: Cluster;

const token = (userId: string) => signToken(userId, { secret: SECRET, expiresInSeconds: 600 });

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  probe = await ClusterProbe.open(cluster);
  publisher = new Cluster(
    cluster.urls.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })),
  );
}, 120_000);

afterEach(() => terminateClients());

afterAll(async () => {
  publisher?.disconnect();
  probe?.close();
  await cluster?.stop();
});

/** A service on the cluster (two of the three seeds), stopped when the test ends. */
async function startOnCluster(pubsub: 'sharded' | 'classic'): Promise<ServiceProcess> {
  const service = await startServiceProcess({
    WEBSOCKET_REDIS_MODE: 'cluster',
    WEBSOCKET_REDIS_URL: cluster.urls.slice(0, 2).join(','),
    WEBSOCKET_PUBSUB: pubsub,
  });
  onTestFinished(() => service.stop());
  await waitUntilReady(service, 40_000);
  return service;
}

for (const pubsub of ['sharded', 'classic'] as const) {
  describe(`${pubsub} pub/sub on a Redis Cluster`, () => {
    it('resumes users on every master: missed messages replayed in order, then live; recent on a first connect', async () => {
      const service = await startOnCluster(pubsub);
      const mode = pubsub;
      const users = cluster.nodes.map((_, master) => probe.userOn(master, `${pubsub}-resume`));
      expect(users.map((user) => probe.ownerOf(`ws:${user}`))).toEqual([0, 1, 2]);

      const firsts = users.map((user) => connectClient(service.wsUrl(token(user))));
      await waitFor(() => firsts.every((tab) => tab.controls.length === 1), {
        timeoutMs: 20_000,
        message: 'first connects synced',
      });
      const epochs = new Map<string, string>();
      for (const user of users) {
        const published = await publishNumbered(publisher, user, 3, { mode });
        epochs.set(user, published[0]!.epoch);
      }
      await waitFor(() => firsts.every((tab) => tab.frames.length === 3), {
        timeoutMs: 20_000,
        message: 'three live messages each',
      });
      for (const tab of firsts) tab.socket.terminate();
      for (const user of users) await publishNumbered(publisher, user, 4, { mode, from: 4 });

      const resumed: TestClient[] = users.map((user) =>
        connectClient(
          resumeUrl(service.wsUrl(token(user)), { position: 3, epoch: epochs.get(user)! }),
        ),
      );
      const recents = users.map((user) =>
        connectClient(resumeUrl(service.wsUrl(token(user)), { recent: 2 })),
      );
      await waitFor(() => [...resumed, ...recents].every((tab) => tab.controls.length === 1), {
        timeoutMs: 20_000,
        message: 'resumed and recent tabs synced',
      });
      for (const tab of resumed) expect(timeline(tab)).toEqual(['4', '5', '6', '7', 'synced:7']);
      for (const tab of recents) expect(timeline(tab)).toEqual(['6', '7', 'synced:7']);

      for (const user of users) await publishNumbered(publisher, user, 1, { mode, from: 8 });
      await waitFor(() => [...resumed, ...recents].every((tab) => positionsOf(tab).at(-1) === 8), {
        timeoutMs: 20_000,
        message: 'live after the replay',
      });
      for (const tab of resumed) expect(positionsOf(tab)).toEqual(range(4, 8));
      expect(
        await metricValue(service, 'huleedu_ws_resumes_total{outcome="recovered",reason="none"}'),
      ).toBe(3);
    });

    it('catches connected sockets up after CLIENT KILL TYPE pubsub on every master', async () => {
      const service = await startOnCluster(pubsub);
      const mode = pubsub;
      const users = cluster.nodes.map((_, master) => probe.userOn(master, `${pubsub}-kill`));
      const tabs = users.map((user) => connectClient(service.wsUrl(token(user))));
      await waitFor(() => tabs.every((tab) => tab.controls.length === 1), {
        timeoutMs: 20_000,
        message: 'synced',
      });

      const tops = new Map<string, number>();
      for (let round = 0; round < 6; round++) {
        await Promise.all(
          cluster.nodes.map((_, master) => probe.client(master).client('KILL', 'TYPE', 'pubsub')),
        );
        for (const user of users) {
          const published = await publishNumbered(publisher, user, 5, {
            mode,
            from: round * 5 + 1,
          });
          tops.set(user, published.at(-1)!.position);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (const [i, user] of users.entries()) {
        const tab = tabs[i]!;
        await waitFor(() => positionsOf(tab).at(-1) === tops.get(user), {
          timeoutMs: 30_000,
          message: `${user} caught up`,
        });
        expect(positionsOf(tab), user).toEqual(range(1, tops.get(user)!));
      }
      expect(
        await metricValue(service, 'huleedu_ws_history_catchups_total{cause="resubscribe"}'),
      ).toBeGreaterThan(0);
    });
  });
}
