import { readFileSync } from 'node:fs';
import { get as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { signToken } from '@huleedu/auth';
import { createNotifier, type Notifier } from '@huleedu/notify';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceV8Flags } from '../../src/v8-flags.js';
import {
  connectClient,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  type TestClient,
  terminateClients,
} from './harness.js';
import { publishNumbered, resumeUrl, timeline } from './history.js';

/**
 * WEBSOCKET_WORKERS=3: one port, three worker processes behind a cluster primary. The tests run
 * in order against one service: spread and delivery, a killed worker, a stuck worker, SIGTERM.
 */

const WORKERS = 3;
const USERS = 30;
const TABS_PER_USER = 2;

let redis: RedisHandle;
let service: ServiceProcess;
let notifier: Notifier;
let publisher: Redis;
/** Every tab, as `tabs[user][tab]`. */
const tabs: TestClient[][] = [];
const userId = (index: number) => `teacher-${index}`;
const token = (user: string) => signToken(user, { secret: SECRET, expiresInSeconds: 600 });

/**
 * GET over a fresh connection (no keep-alive pool: a pooled connection would stick to one
 * worker). Resolves `undefined` if no answer comes within `timeoutMs`.
 */
function get(
  path: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const request = httpRequest(service.httpUrl(path), { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.setTimeout(timeoutMs, () => {
      request.destroy();
      resolve(undefined);
    });
    request.on('error', () => resolve(undefined));
  });
}

/** Every sample of a 200 `/metrics` answer, by series (`name{labels}`). */
async function scrape(): Promise<Map<string, number>> {
  const answer = await waitFor(
    async () => {
      const response = await get('/metrics');
      return response?.status === 200 ? response : undefined;
    },
    { timeoutMs: 30_000, message: 'a 200 answer on /metrics' },
  );
  const samples = new Map<string, number>();
  for (const line of answer.body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** Open connections per worker slot, from the per-worker gauge. */
function perWorker(samples: Map<string, number>): number[] {
  return Array.from(
    { length: WORKERS },
    (_, slot) => samples.get(`huleedu_ws_worker_connections{worker="${slot}"}`) ?? 0,
  );
}

/** Waits until `/readyz` answers 200 (on whichever worker gets the probe). */
function ready(timeoutMs = 30_000) {
  return waitFor(async () => (await get('/readyz'))?.status === 200, {
    timeoutMs,
    message: 'the service to become ready',
  });
}

/** The pid of the worker that serves `slot` now (its latest `worker listening` line). */
function workerPid(slot: number): number {
  const lines = service.logLines().filter((l) => l.msg === 'worker listening' && l.worker === slot);
  const pid = lines.at(-1)?.pid;
  if (typeof pid !== 'number') throw new Error(`no worker listening in slot ${slot}`);
  return pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until Redis confirms every channel the workers want (sum of per-worker subscriptions). */
async function subscriptionsSettled(): Promise<void> {
  await waitFor(
    async () => {
      const wanted = (await scrape()).get('huleedu_ws_subscribed_channels');
      const channels = Array.from({ length: USERS }, (_, i) => `ws:${userId(i)}`);
      const counts = (await publisher.pubsub('NUMSUB', ...channels)) as Array<string | number>;
      let confirmed = 0;
      for (let i = 1; i < counts.length; i += 2) confirmed += Number(counts[i]);
      return wanted !== undefined && confirmed === wanted;
    },
    { timeoutMs: 30_000, message: 'Redis to confirm every subscription' },
  );
}

beforeAll(async () => {
  redis = await startRedis();
  publisher = new Redis(redis.url);
  notifier = createNotifier({ redis: redis.url });
  service = await startServiceProcess({
    WEBSOCKET_REDIS_URL: redis.url,
    WEBSOCKET_WORKERS: String(WORKERS),
    WEBSOCKET_SHUTDOWN_GRACE_SECONDS: '5',
    LOG_LEVEL: 'info',
  });
  await ready();
}, 90_000);

afterAll(async () => {
  terminateClients();
  await notifier?.close();
  publisher?.disconnect();
  await service?.stop();
  await redis?.stop();
});

describe('WEBSOCKET_WORKERS=3', () => {
  it('logs "listening" once, after every worker listens', () => {
    const lines = service.logLines();
    expect(lines.filter((l) => l.msg === 'listening')).toEqual([
      expect.objectContaining({ port: service.port, workers: WORKERS, pid: service.pid }),
    ]);
    const workers = lines.filter((l) => l.msg === 'worker listening');
    expect(new Set(workers.map((l) => l.worker))).toEqual(new Set([0, 1, 2]));
    expect(new Set(workers.map((l) => l.pid)).size).toBe(WORKERS);
    expect(workers.every((l) => l.pid !== service.pid && l.port === service.port)).toBe(true);
  });

  it("runs every worker with the service's V8 flags, though the primary was started without", () => {
    const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const flag of serviceV8Flags) expect(argv(service.pid)).not.toContain(flag);
    for (const slot of [0, 1, 2]) {
      expect(argv(workerPid(slot)), `worker ${slot}`).toEqual(
        expect.arrayContaining([...serviceV8Flags]),
      );
    }
  });

  it('spreads sockets over the workers and delivers every user its notification', async () => {
    for (let u = 0; u < USERS; u++) {
      tabs.push(
        Array.from({ length: TABS_PER_USER }, () => connectClient(service.wsUrl(token(userId(u))))),
      );
    }
    await Promise.all(tabs.flat().map((tab) => tab.opened));
    const total = USERS * TABS_PER_USER;

    // Any worker answers /metrics with the sum over all of them.
    const samples = await waitFor(
      async () => {
        const s = await scrape();
        return s.get('huleedu_ws_connections') === total ? s : undefined;
      },
      { timeoutMs: 30_000, message: `${total} connections in the aggregated gauge` },
    );
    const spread = perWorker(samples);
    expect(spread.reduce((a, b) => a + b, 0)).toBe(total);
    expect(spread.filter((count) => count > 0).length).toBeGreaterThan(1);
    expect(samples.get('huleedu_ws_connections_accepted_total')).toBe(total);

    await subscriptionsSettled();
    let receivers = 0;
    for (let u = 0; u < USERS; u++) {
      const published = await notifier.publishUserNotification(userId(u), 'batch_results_ready', {
        batch_id: `batch-${u}`,
        class_id: null,
        results_count: u,
        message: `Results for batch ${u} are ready`,
      });
      receivers += published.receivers;
    }
    // One receiver per worker holding a tab of the user: each worker has its own subscriber.
    expect(receivers).toBeGreaterThanOrEqual(USERS);
    expect(receivers).toBeLessThanOrEqual(USERS * TABS_PER_USER);
    await waitFor(() => tabs.flat().every((tab) => tab.frames.length === 1), {
      timeoutMs: 20_000,
      message: 'every tab to receive its notification',
    });
    tabs.forEach((userTabs, u) => {
      for (const tab of userTabs) {
        expect(JSON.parse(tab.frames[0]!)).toMatchObject({
          event: 'batch_results_ready',
          data: { batch_id: `batch-${u}`, results_count: u },
        });
      }
    });

    const after = await scrape();
    expect(after.get('huleedu_ws_redis_messages_total')).toBe(receivers);
    expect(after.get('huleedu_ws_frames_delivered_total')).toBe(total);
  });

  it('answers /readyz and /metrics for the whole set, whichever worker gets the request', async () => {
    for (let i = 0; i < 6; i++) {
      expect(await get('/readyz')).toEqual({
        status: 200,
        body: JSON.stringify({ status: 'ready', workers: { ready: WORKERS, expected: WORKERS } }),
      });
      expect((await get('/healthz'))?.status).toBe(200);
    }
    const samples = await scrape();
    expect(samples.get('huleedu_ws_workers')).toBe(WORKERS);
    expect(samples.get('huleedu_ws_workers_ready')).toBe(WORKERS);
    expect(samples.get('huleedu_ws_redis_connected')).toBe(WORKERS); // one subscriber each
    expect(samples.get('huleedu_ws_worker_restarts_total')).toBe(0);
    const users = samples.get('huleedu_ws_users') ?? 0;
    // Summed per worker: a user whose two tabs landed on two workers counts twice.
    expect(users).toBeGreaterThanOrEqual(USERS);
    expect(users).toBeLessThanOrEqual(USERS * TABS_PER_USER);
    expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    const { body } = (await get('/metrics'))!;
    expect(body).not.toContain('teacher-');
  });

  it('resumes on whichever worker a reconnect lands, and sums the resume metrics of all workers', async () => {
    const before = await scrape();
    const published = await publishNumbered(publisher, 'worker-resumer', 5);
    const epoch = published[0]!.epoch;
    // Round-robin: three resumes land on three different workers.
    const resumed = [0, 1, 2].map(() =>
      connectClient(resumeUrl(service.wsUrl(token('worker-resumer')), { position: 2, epoch })),
    );
    await waitFor(() => resumed.every((tab) => tab.controls.length === 1), {
      message: 'every resumed tab synced',
    });
    for (const tab of resumed) expect(timeline(tab)).toEqual(['3', '4', '5', 'synced:5']);
    const after = await scrape();
    const recovered = 'huleedu_ws_resumes_total{outcome="recovered",reason="none"}';
    expect((after.get(recovered) ?? 0) - (before.get(recovered) ?? 0)).toBe(3);
    for (const tab of resumed) tab.socket.close();
    await Promise.all(resumed.map((tab) => tab.closed));
  });

  it('restarts a killed worker; sockets on the other workers stay open and keep receiving', async () => {
    const before = perWorker(await scrape());
    const victim = before.findIndex((count) => count > 0);
    const victimPid = workerPid(victim);
    const total = USERS * TABS_PER_USER;

    process.kill(victimPid, 'SIGKILL');
    await waitFor(
      () =>
        tabs.flat().filter((t) => t.socket.readyState === t.socket.CLOSED).length ===
        before[victim],
      {
        timeoutMs: 20_000,
        message: `the ${before[victim]} sockets of worker ${victim} to close`,
      },
    );
    await waitFor(() => !alive(victimPid) && workerPid(victim) !== victimPid, {
      timeoutMs: 30_000,
      message: `worker ${victim} to be restarted`,
    });
    expect(service.logLines().find((l) => l.msg === 'worker died; restarting')).toMatchObject({
      worker: victim,
      workerPid: victimPid,
      signal: 'SIGKILL',
    });
    await ready();

    const samples = await scrape();
    expect(samples.get('huleedu_ws_worker_restarts_total')).toBe(1);
    expect(samples.get('huleedu_ws_connections')).toBe(total - before[victim]!);
    expect(perWorker(samples)[victim]).toBe(0);
    const survivors = tabs.flat().filter((t) => t.socket.readyState === t.socket.OPEN);
    expect(survivors).toHaveLength(total - before[victim]!);

    // The survivors still receive; the closed tabs reconnect and land on live workers.
    await subscriptionsSettled();
    for (let u = 0; u < USERS; u++) {
      await notifier.publish(userId(u), 'workers_test_again', { n: u });
    }
    await waitFor(() => survivors.every((tab) => tab.frames.length === 2), {
      timeoutMs: 20_000,
      message: 'the surviving tabs to receive the second notification',
    });
    for (const userTabs of tabs) {
      for (let t = 0; t < userTabs.length; t++) {
        const tab = userTabs[t]!;
        if (tab.socket.readyState === tab.socket.OPEN) continue;
        const reconnected = connectClient(service.wsUrl(token(userId(tabs.indexOf(userTabs)))));
        await reconnected.opened;
        userTabs[t] = reconnected;
      }
    }
    await waitFor(async () => (await scrape()).get('huleedu_ws_connections') === total, {
      timeoutMs: 30_000,
      message: 'all tabs connected again',
    });
  });

  it('bounds a scrape and readiness when a worker is stuck (SIGSTOP), and recovers', async () => {
    const stuckPid = workerPid(2);
    process.kill(stuckPid, 'SIGSTOP');
    try {
      // Answered (by a live worker) with 503 within the primary's 3 s gathering bound.
      const answer = await waitFor(
        async () => {
          const response = await get('/metrics', 8_000);
          return response !== undefined && response.status !== 200 ? response : undefined;
        },
        { timeoutMs: 60_000, message: '/metrics to report the stuck worker' },
      );
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toEqual({
        error: 'metrics_unavailable',
        reason: 'worker(s) 2 did not answer within 3000 ms',
      });
      // The primary's log line travels on another pipe than the HTTP answer: wait for it.
      await waitFor(
        () =>
          service
            .logLines()
            .some((l) => l.msg === 'metrics scrape incomplete: worker(s) did not answer in time'),
        { message: 'the primary to log the incomplete scrape' },
      );
      // A worker that stopped reporting makes the whole service not ready.
      const notReady = await waitFor(
        async () => {
          const response = await get('/readyz', 8_000);
          return response?.status === 503 ? response : undefined;
        },
        { timeoutMs: 60_000, message: '/readyz 503 while a worker is stuck' },
      );
      expect(JSON.parse(notReady.body)).toEqual({
        status: 'not_ready',
        reasons: ['workers_not_ready'],
        workers: { ready: WORKERS - 1, expected: WORKERS },
      });
    } finally {
      process.kill(stuckPid, 'SIGCONT');
    }
    await ready();
    expect((await scrape()).get('huleedu_ws_workers_ready')).toBe(WORKERS);
  });

  it('SIGTERM to the primary closes every socket with 1001, exits 0 and leaves no worker', async () => {
    const pids = new Set(
      service.logLines().flatMap((l) => (l.msg === 'worker listening' ? [l.pid as number] : [])),
    );
    service.signal('SIGTERM');
    const closes = await Promise.all(tabs.flat().map((tab) => tab.closed));
    expect(closes.every((c) => c.code === 1001 && c.reason === 'server_shutdown')).toBe(true);
    expect(await service.exited).toEqual({ code: 0, signal: null });
    for (const pid of pids) expect(alive(pid), `worker ${pid}`).toBe(false);
    // `exited` waits for the output pipe to close, so every line is in; the logger writes
    // synchronously, so they are in the order the primary logged them.
    const primaryLines = service.logLines().filter((l) => l.pid === service.pid);
    const shutdown = primaryLines.slice(
      primaryLines.findIndex((l) => l.msg === 'stopping workers'),
    );
    const exits = shutdown.filter((l) => l.msg === 'worker exited' || l.msg === 'stopped');
    expect(exits.map((l) => l.msg)).toEqual([
      ...Array.from({ length: WORKERS }, () => 'worker exited'),
      'stopped',
    ]);
    expect(shutdown.at(-1)).toMatchObject({ msg: 'stopped', clean: true });
  });
});

describe('multi-process start-up failure', () => {
  let blocker: Server | undefined;
  afterAll(() => blocker?.close());

  it('exits 1 when the workers cannot listen (port taken), leaving no worker', async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)),
    );
    const error = await startServiceProcess({
      WEBSOCKET_REDIS_URL: 'redis://127.0.0.1:1',
      WEBSOCKET_WORKERS: '2',
      WEBSOCKET_SERVICE_PORT: String(port),
      LOG_LEVEL: 'info',
    }).then(
      () => 'started',
      (e: Error) => e.message,
    );
    expect(error).toContain('service exited with 1 before listening');
    expect(error).toContain('EADDRINUSE');
    expect(error).toContain('worker exited before the service was listening');
    const workerPids = error
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes('"worker":'))
      .map((line) => (JSON.parse(line) as { pid: number }).pid);
    expect(workerPids.length).toBeGreaterThan(0);
    await waitFor(() => workerPids.every((pid) => !alive(pid)), {
      message: 'no worker process left',
    });
  });
});
