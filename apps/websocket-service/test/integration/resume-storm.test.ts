import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

// A deploy: every socket of an instance is closed with 1001 and comes back at once to another
// instance, resuming from its position, while a publisher keeps sending. The reads are batched
// and bounded, and every socket ends up with every message of its user once, in order.

const USERS = 500;
const TABS = 4;
const RATE_PER_SECOND = 800;

let redis: RedisHandle;
let publisher: Redis;
const services: ServiceProcess[] = [];

const env = (): Record<string, string> => ({
  WEBSOCKET_REDIS_URL: redis.url,
  LOG_LEVEL: 'info',
  // 2,000 sockets from one test process: above the per-address defaults.
  WEBSOCKET_MAX_CONNECTIONS_PER_ADDRESS: '10000',
  WEBSOCKET_HANDSHAKE_BURST: '10000',
  // This one test process opens all 2,000 sockets: on a loaded machine it may take longer than
  // the default 5 s to send some of their requests.
  WEBSOCKET_REQUEST_TIMEOUT_SECONDS: '60',
  // Fewer slots than users, so the storm really queues.
  WEBSOCKET_HISTORY_READ_CONCURRENCY: '32',
});

/** Every client synced once; fails at once (with the close) if one was closed instead. */
function allSynced(clients: readonly { client: TestClient }[]): boolean {
  let synced = 0;
  for (const { client } of clients) {
    if (client.controls.length >= 1) synced++;
    else if (client.socket.readyState >= client.socket.CLOSING) {
      throw new Error(`a socket closed before it was synced (${synced} synced so far)`);
    }
  }
  return synced === clients.length;
}

beforeAll(async () => {
  redis = await startRedis();
  publisher = new Redis(redis.url);
});

afterAll(async () => {
  terminateClients();
  publisher?.disconnect();
  await Promise.all(services.map((service) => service.stop()));
  await redis?.stop();
});

/** Where a client stands: its last notification's position and epoch, else its ws.synced's. */
function standing(client: TestClient): { position: number; epoch: string | null } {
  const last = client.frames[client.frames.length - 1];
  if (last !== undefined) return JSON.parse(last) as { position: number; epoch: string };
  const synced = client.controls[0]!.data as { position: number; epoch: string | null };
  return { position: synced.position, epoch: synced.epoch };
}

describe('resume storm', () => {
  it(`${USERS * TABS} sockets of ${USERS} users move to another instance at once while publishing: every socket synced, nothing lost or repeated`, async () => {
    const first = await startServiceProcess(env());
    services.push(first);
    await waitUntilReady(first);
    const users = Array.from({ length: USERS }, (_, i) => `storm-${i}`);
    const tokens = new Map(users.map((user) => [user, signToken(user, { secret: SECRET })]));
    const before = users.flatMap((user) =>
      Array.from({ length: TABS }, () => ({
        user,
        client: connectClient(first.wsUrl(tokens.get(user))),
      })),
    );
    await waitFor(() => allSynced(before), {
      timeoutMs: 60_000,
      message: 'every socket synced on the first instance',
    });

    const tops = new Map<string, number>();
    let publishing = true;
    let published = 0;
    const publishLoop = (async () => {
      const perTick = RATE_PER_SECOND / 100;
      const deadline = Date.now() + 60_000;
      while (publishing && Date.now() < deadline) {
        const batch = Array.from({ length: perTick }, () => users[published++ % USERS]!);
        const results = await Promise.all(
          batch.map((user) => publishPositioned(publisher, user, { event: 'storm', data: {} })),
        );
        results.forEach((result, i) => {
          const user = batch[i]!;
          tops.set(user, Math.max(tops.get(user) ?? 0, result.position));
        });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    await new Promise((resolve) => setTimeout(resolve, 1000));
    const second = await startServiceProcess(env());
    services.push(second);
    await waitUntilReady(second);
    // The deploy: the first instance closes every socket with 1001; each comes straight back.
    const after = before.map(({ user, client }) =>
      client.closed.then(({ code }) => {
        expect(code).toBe(1001);
        return {
          user,
          client: connectClient(resumeUrl(second.wsUrl(tokens.get(user)), standing(client))),
        };
      }),
    );
    const stormStarted = Date.now();
    first.signal('SIGTERM');
    const resumed = await Promise.all(after);
    await waitFor(() => allSynced(resumed), {
      timeoutMs: 60_000,
      message: 'every resumed socket synced',
    });
    const syncedAfterMs = Date.now() - stormStarted;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    publishing = false;
    await publishLoop;

    await waitFor(
      () =>
        resumed.every(
          ({ user, client }) => Math.max(0, ...positionsOf(client)) >= (tops.get(user) ?? 0),
        ),
      { timeoutMs: 60_000, message: 'every socket has every message' },
    );
    for (const [i, { user, client }] of resumed.entries()) {
      // A resync names its reason in the failure (history_unavailable: reads timed out).
      expect(
        client.controls.map((c) =>
          c.event === 'ws.resync' ? `ws.resync ${(c.data as { reason: string }).reason}` : c.event,
        ),
      ).toEqual(['ws.synced']);
      const received = [...positionsOf(before[i]!.client), ...positionsOf(client)];
      expect(received, user).toEqual(range(1, tops.get(user) ?? 0));
    }
    expect(
      await metricValue(second, 'huleedu_ws_resumes_total{outcome="recovered",reason="none"}'),
    ).toBe(USERS * TABS);
    // One read per user (plus re-reads when live messages overtook one), not one per socket.
    const reads = await metricValue(second, 'huleedu_ws_history_reads_total');
    expect(reads).toBeLessThan(USERS * TABS);
    console.info(
      `resume storm: ${USERS * TABS} sockets synced within ${syncedAfterMs} ms of SIGTERM; ${published} published; ${reads} history reads`,
    );
  }, 180_000);
});
