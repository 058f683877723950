import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '@huleedu/auth';
import { startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
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
import { positionsOf, publishPositioned, range, resumeUrl } from './history.js';

// Connected sockets lose nothing when the service's own Redis subscriber drops: once it has
// subscribed again, every user on it catches up from history.

const token = (userId: string) => signToken(userId, { secret: SECRET, expiresInSeconds: 600 });

afterEach(() => terminateClients());

/** A Redis, a service on it and a publisher connection, stopped when the test ends. */
async function setup(redisArgs: string[] = []) {
  const redis = await startRedis({ args: redisArgs });
  onTestFinished(() => redis.stop());
  const service = await startServiceProcess({ WEBSOCKET_REDIS_URL: redis.url });
  onTestFinished(() => service.stop());
  // Commands wait while Redis restarts; a publish that fails is retried by the loop below.
  const publisher = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  publisher.on('error', () => undefined);
  onTestFinished(() => publisher.disconnect());
  await waitUntilReady(service);
  return { redis, service, publisher };
}

/** Opens `tabs` sockets for each user and waits until every one is synced. */
async function openTabs(
  service: ServiceProcess,
  users: readonly string[],
  tabs: number,
): Promise<Map<string, TestClient[]>> {
  const byUser = new Map<string, TestClient[]>();
  for (const user of users) {
    byUser.set(
      user,
      Array.from({ length: tabs }, () => connectClient(service.wsUrl(token(user)))),
    );
  }
  const all = [...byUser.values()].flat();
  await waitFor(() => all.every((tab) => tab.controls.length === 1), {
    message: 'every tab synced',
  });
  return byUser;
}

/**
 * Publishes numbered messages round-robin over `users`, about every `intervalMs`, until `total`
 * were stored; a publish Redis does not take (it is restarting) is retried. Resolves with each
 * user's last position.
 */
async function publishSequence(
  publisher: Redis,
  users: readonly string[],
  total: number,
  intervalMs: number,
): Promise<Map<string, number>> {
  const tops = new Map<string, number>();
  const deadline = Date.now() + 120_000;
  for (let n = 0; n < total && Date.now() < deadline; ) {
    const user = users[n % users.length]!;
    try {
      const { position } = await publishPositioned(publisher, user, {
        event: 'numbered',
        data: { n },
      });
      tops.set(user, position);
      n++;
    } catch {
      // Redis is away: try the same message again shortly.
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return tops;
}

/** Every tab of every user received exactly positions 1..top of its user, in order. */
async function expectEveryMessageOnce(
  byUser: Map<string, TestClient[]>,
  tops: Map<string, number>,
  from = 1,
): Promise<void> {
  for (const [user, tabs] of byUser) {
    const top = tops.get(user) ?? 0;
    await waitFor(() => tabs.every((tab) => Math.max(0, ...positionsOf(tab)) >= top), {
      timeoutMs: 30_000,
      message: `every tab of ${user} reached ${top}`,
    });
    for (const tab of tabs) expect(positionsOf(tab), user).toEqual(range(from, top));
  }
}

describe('catch-up after the subscriber reconnects', () => {
  it('CLIENT KILL TYPE pubsub while publishing: every socket gets every message once, in order', async () => {
    const { service, publisher, redis } = await setup();
    const admin = new Redis(redis.url);
    onTestFinished(() => admin.disconnect());
    const users = ['kill-a', 'kill-b'];
    const byUser = await openTabs(service, users, 3);

    let killing = true;
    let kills = 0;
    const killer = (async () => {
      while (killing && kills < 40) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        await admin.client('KILL', 'TYPE', 'pubsub');
        kills++;
      }
    })();
    const tops = await publishSequence(publisher, users, 600, 4);
    killing = false;
    await killer;
    expect(kills).toBeGreaterThan(3);

    await expectEveryMessageOnce(byUser, tops);
    expect(await metricValue(service, 'huleedu_ws_redis_resubscribes_total')).toBeGreaterThan(3);
    expect(
      await metricValue(service, 'huleedu_ws_history_catchups_total{cause="resubscribe"}'),
    ).toBeGreaterThan(3);
    // Nothing was signalled as lost: every gap was filled from history.
    expect(await metricValue(service, 'huleedu_ws_resyncs_total{reason="history_lost"}')).toBe(0);
  });

  it('Redis restarted with its data kept (AOF): connected sockets get every message once, in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'huleedu-aof-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const { service, publisher, redis } = await setup([
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      dir,
    ]);
    const users = ['aof-a', 'aof-b'];
    const byUser = await openTabs(service, users, 3);

    const publishing = publishSequence(publisher, users, 400, 5);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await redis.restart();
    const tops = await publishing;

    await expectEveryMessageOnce(byUser, tops);
    expect(await metricValue(service, 'huleedu_ws_resyncs_total{reason="history_lost"}')).toBe(0);
  });

  it('Redis restarted without persistence: connected sockets are told history_lost, then follow the new epoch', async () => {
    const { service, publisher, redis } = await setup();
    const byUser = await openTabs(service, ['volatile'], 2);
    const tabs = byUser.get('volatile')!;
    const before = await publishSequence(publisher, ['volatile'], 5, 1);
    await waitFor(() => tabs.every((tab) => positionsOf(tab).length === 5), {
      message: 'five live messages',
    });
    const oldEpoch = (JSON.parse(tabs[0]!.frames[0]!) as { epoch: string }).epoch;

    await redis.restart();
    await waitUntilReady(service);
    // Synced again after the subscriber came back: the history is gone.
    await waitFor(() => tabs.every((tab) => tab.controls.length === 2), {
      message: 'ws.resync after the restart',
    });
    for (const tab of tabs) {
      expect(tab.controls[1]).toEqual({
        event: 'ws.resync',
        data: { reason: 'history_lost', position: 0, epoch: null },
      });
    }
    const after = await publishSequence(publisher, ['volatile'], 3, 1);
    await waitFor(() => tabs.every((tab) => positionsOf(tab).length === 8), {
      message: 'the new epoch, live',
    });
    for (const tab of tabs) expect(positionsOf(tab)).toEqual([1, 2, 3, 4, 5, 1, 2, 3]);
    const newEpoch = (JSON.parse(tabs[0]!.frames[7]!) as { epoch: string }).epoch;
    expect(newEpoch).not.toBe(oldEpoch);
    expect(before.get('volatile')).toBe(5);
    expect(after.get('volatile')).toBe(3);

    // A client that was away during the restart resumes with the old epoch: history_lost too.
    const late = connectClient(
      resumeUrl(service.wsUrl(token('volatile')), { position: 5, epoch: oldEpoch }),
    );
    await waitFor(() => late.controls.length === 1, { message: 'the late client synced' });
    expect(late.controls[0]).toEqual({
      event: 'ws.resync',
      data: { reason: 'history_lost', position: 3, epoch: newEpoch },
    });
  });
});
