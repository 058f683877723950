import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '@huleedu/auth';
import { startRedis, waitFor } from '@huleedu/test-support';
import { historyKeys } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type AuditWindow, formatTally, tallyWindow } from './delivery-audit.js';
import { SequencePublisher } from './durable-publisher.js';
import { SECRET } from './harness.js';
import { ResumingClient } from './resuming-client.js';
import { ServiceFleet } from './service-fleet.js';
import { startTcpProxy } from './tcp-proxy.js';

// Nothing lost across failures: two users, three sockets, a numbered stream of at least 2,000 durable
// notifications at 200/s, and five disruptions in turn while it runs. Every socket must get every
// number of its user exactly once, in order, with no resync, with the service's shipped defaults.
// The clients keep no defences of their own (no dedup), so any loss or duplicate is the service's.

const ALICE = 'chaos-alice';
const BOB = 'chaos-bob';
const RATE_PER_SECOND = 200;
const MINIMUM_NOTIFICATIONS = 2_000;
/** Normal flow between two disruptions: ~1.5 s of the stream. */
const STEADY_NOTIFICATIONS = 300;
/**
 * Retention the publisher asks of the script (the publisher's choice, not the service's). 100
 * per user (notify's default) covers about 1 s of this stream's 100/s per user, far less than a
 * restart's gap (several seconds on a loaded machine); 5,000 covers 50 s, so what is
 * judged is the service, whose replay limit (2,000 by default) then decides.
 */
const HISTORY_LENGTH = 5_000;
const HISTORY_TTL_SECONDS = 3_600;
const RECOVERY_MS = 30_000;

const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const token = (userId: string) => signToken(userId, { secret: SECRET, expiresInSeconds: 900 });

/** Redis clients currently subscribed (`CLIENT LIST TYPE pubsub`): one per instance with sockets. */
async function subscriberCount(admin: Redis): Promise<number> {
  const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  return list.split('\n').filter((line) => line.trim() !== '').length;
}

/** Waits until as many subscribers as before a disruption are back. */
function waitForSubscribers(admin: Redis, count: number): Promise<boolean> {
  return waitFor(async () => (await subscriberCount(admin)) === count, {
    timeoutMs: RECOVERY_MS,
    message: `${count} Redis subscriber(s) back`,
  });
}

describe('delivery guarantee under chaos', () => {
  it('delivers every notification exactly once, in order, through cuts, kills, deploys, subscriber kills and a Redis restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'huleedu-chaos-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const redis = await startRedis({
      args: ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir],
    });
    cleanup.push(() => redis.stop());
    const admin = new Redis(redis.url, { retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    admin.on('error', () => undefined);
    cleanup.push(() => admin.disconnect());

    // Shipped defaults: nothing about history or replay in the environment.
    const fleet = new ServiceFleet({ WEBSOCKET_REDIS_URL: redis.url, LOG_LEVEL: 'info' }, 2);
    cleanup.push(() => fleet.stop());
    await fleet.start(0, 1);

    // Alice has a socket on each instance, Bob one on the second; alice#1 reaches its instance
    // through a proxy whose connections the test cuts.
    const proxy = await startTcpProxy(() => fleet.port(0));
    cleanup.push(() => proxy.close());
    const clients = [
      new ResumingClient({
        name: 'alice#1',
        token: token(ALICE),
        endpoint: () => `ws://127.0.0.1:${proxy.port}/ws`,
      }),
      new ResumingClient({
        name: 'alice#2',
        token: token(ALICE),
        endpoint: () => fleet.endpoint(1),
      }),
      new ResumingClient({ name: 'bob#1', token: token(BOB), endpoint: () => fleet.endpoint(1) }),
    ];
    const userOf = (client: ResumingClient) => (client.name.startsWith('alice') ? ALICE : BOB);
    for (const client of clients) {
      client.start();
      cleanup.push(() => client.stop());
    }
    const admissions = () => clients.map((c) => c.admittedAt.length);
    /** Every client admitted now, and each of `moved` admitted again since `before`. */
    const readmitted = (before: number[], moved: readonly ResumingClient[], what: string) =>
      waitFor(
        () => {
          const failed = clients.find((c) => c.failure !== undefined);
          if (failed) throw new Error(failed.failure);
          return clients.every(
            (c, i) => c.synced && (!moved.includes(c) || c.admittedAt.length > before[i]!),
          );
        },
        { timeoutMs: RECOVERY_MS, message: `every client admitted (${what})` },
      );
    await readmitted(admissions(), clients, 'first connect');

    const publisher = new SequencePublisher({
      redisUrl: redis.url,
      users: [ALICE, BOB],
      ratePerSecond: RATE_PER_SECOND,
      minimum: MINIMUM_NOTIFICATIONS,
      maximum: 10 * MINIMUM_NOTIFICATIONS,
      historyLength: HISTORY_LENGTH,
      historyTtlSeconds: HISTORY_TTL_SECONDS,
      giveUpAfterMs: RECOVERY_MS,
    });
    cleanup.push(() => publisher.close());
    const steadyFlow = async () => {
      const mark = publisher.published.length + STEADY_NOTIFICATIONS;
      await Promise.race([
        waitFor(() => publisher.published.length >= mark, {
          timeoutMs: RECOVERY_MS,
          message: `${STEADY_NOTIFICATIONS} more notifications published`,
        }),
        publisher.done.then(() => {
          throw new Error('the publisher stopped early');
        }),
      ]);
    };

    const scenarios: Array<{ name: string; disrupt: () => Promise<void> }> = [
      {
        name: "1 a client's TCP connection cut",
        disrupt: async () => {
          const before = admissions();
          expect(proxy.cut()).toBe(1);
          await readmitted(before, [clients[0]!], 'alice#1 after the cut');
        },
      },
      {
        name: '2 service SIGKILLed and restarted',
        disrupt: async () => {
          const before = admissions();
          await Promise.all([fleet.kill(0), fleet.kill(1)]);
          await fleet.start(0, 1);
          await readmitted(before, clients, 'after the restart');
        },
      },
      {
        name: '3 rolling restart of two instances',
        disrupt: async () => {
          // Every socket is on one of the two, so each fails over at least once.
          const before = admissions();
          expect(await fleet.drain(0)).toBe(0);
          await readmitted(before, [], 'on instance 2 after instance 1 stopped');
          await fleet.start(0);
          expect(await fleet.drain(1)).toBe(0);
          await readmitted(before, clients, 'on instance 1 after instance 2 stopped');
          await fleet.start(1);
        },
      },
      {
        name: '4 CLIENT KILL TYPE pubsub',
        disrupt: async () => {
          const subscribers = await subscriberCount(admin);
          expect(subscribers).toBeGreaterThan(0);
          expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBe(subscribers);
          await waitForSubscribers(admin, subscribers);
        },
      },
      {
        name: '5 Redis restarted with its data',
        disrupt: async () => {
          const subscribers = await subscriberCount(admin);
          await admin.call('SHUTDOWN').catch(() => undefined);
          await redis.stop();
          await redis.start();
          await waitForSubscribers(admin, subscribers);
        },
      },
    ];

    const windows: AuditWindow[] = [];
    /** How long each disruption took until every client was served again. */
    const recoveries: string[] = [];
    let from = performance.now();
    const mark = (name: string) => {
      const now = performance.now();
      windows.push({ name, from, to: now });
      from = now;
    };
    let current = 'steady flow before the first disruption';
    try {
      await steadyFlow();
      for (const scenario of scenarios) {
        mark(current);
        current = scenario.name;
        const began = performance.now();
        await scenario.disrupt();
        recoveries.push(
          `${scenario.name}: recovered in ${((performance.now() - began) / 1000).toFixed(1)} s`,
        );
        await steadyFlow();
      }
      await publisher.finish();
      windows.push({ name: current, from, to: Number.POSITIVE_INFINITY });

      // Every socket has its user's last number, then a moment for anything that would follow.
      const lastOf = (userId: string) =>
        Math.max(...publisher.published.filter((p) => p.userId === userId).map((p) => p.sequence));
      await waitFor(
        () => clients.every((c) => c.received.some((r) => r.sequence === lastOf(userOf(c)))),
        { timeoutMs: RECOVERY_MS, message: "every socket to receive its user's last number" },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
    } catch (error) {
      throw new Error(`${current}: ${(error as Error).message}\n${fleet.output()}`, {
        cause: error,
      });
    } finally {
      for (const client of clients) client.stop();
    }

    const audited = clients.map((c) => ({
      name: c.name,
      userId: userOf(c),
      received: c.received,
      admittedAt: c.admittedAt,
      resyncs: c.resyncs,
    }));
    const tallies = windows.map((w) => tallyWindow(w, publisher.published, audited));
    const whole = tallyWindow(
      { name: 'whole run', from: 0, to: Number.POSITIVE_INFINITY },
      publisher.published,
      audited,
    );
    const retried = publisher.published.filter((p) => p.attempts > 1).length;
    const report = [
      ...tallies.map(formatTally),
      formatTally(whole),
      ...recoveries,
      `publisher: ${publisher.published.length} confirmed, ${retried} after a retry, ` +
        `${publisher.published.filter((p) => p.duplicate).length} confirmed by their idempotency key; ` +
        `failed attempts ${JSON.stringify(Object.fromEntries(publisher.failures))}`,
    ].join('\n');
    console.log(report);

    // Redis holds every number once: one epoch per user, positions 1..n without gaps.
    for (const userId of [ALICE, BOB]) {
      const mine = publisher.published.filter((p) => p.userId === userId);
      expect(new Set(mine.map((p) => p.epoch)).size, `${userId}: one epoch`).toBe(1);
      expect(
        mine.map((p) => p.position),
        `${userId}: the publisher's numbers at positions 1..n, in order`,
      ).toEqual(mine.map((_, i) => i + 1));
      expect(Number(await admin.hget(historyKeys(userId).meta, 'top'))).toBe(mine.length);
    }
    expect(publisher.published.length).toBeGreaterThanOrEqual(MINIMUM_NOTIFICATIONS);

    // The guarantee, per socket and per stretch of the stream: nothing lost, duplicated or
    // reordered, no resync; then the exact sequence as a whole. A stretch is judged by publish
    // time, so a loss caused by the next disruption can show in the stretch before it: the whole
    // report goes with the failure.
    const context = `\n${report}\n${fleet.output()}`;
    for (const tally of [...tallies, whole]) {
      for (const socket of tally.sockets) {
        expect(socket, `${tally.window}${context}`).toMatchObject({
          lost: 0,
          duplicates: 0,
          outOfOrder: 0,
          resyncs: [],
        });
      }
    }
    for (const client of clients) {
      expect(client.resyncs, client.name).toEqual([]);
      expect(client.unexpected, client.name).toEqual([]);
      const due = publisher.published.filter((p) => p.userId === userOf(client));
      expect(
        client.received.map((r) => r.sequence),
        client.name,
      ).toEqual(due.map((p) => p.sequence));
    }
  }, 115_000);
});
