import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signToken } from '@huleedu/auth';
import { freePort, type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type KubeObject, loadManifests, objectOf, paths } from './files.js';
import { alertRules, dashboardQueries, docExpressions, metricDocs, seriesNames } from './promql.js';

/** The service's built entry point, through its package link (turbo builds it before tests). */
const MAIN = join(paths.deploy, 'node_modules', '@huleedu', 'websocket-service', 'dist', 'main.js');
const SECRET = 'live-series-test-secret-0123456789abcdef';
/** Series Prometheus makes itself for every target, never in a /metrics body. */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

const base = loadManifests(paths.base);
const configMap = objectOf<KubeObject & { data: Record<string, string> }>(base, 'ConfigMap');
const container = objectOf<IDeployment>(base, 'Deployment').spec!.template.spec!.containers[0]!;

let redis: RedisHandle;
let service: ChildProcess;
let port: number;
let metrics: string;
const output: string[] = [];

/** `http://127.0.0.1:<port><path>` */
const url = (path: string) => `http://127.0.0.1:${port}${path}`;

beforeAll(async () => {
  redis = await startRedis();
  port = await freePort();
  // The manifest's own settings, on loopback, with two worker processes: the primary's /metrics
  // is then the aggregated one (every worker series plus the primary's own).
  service = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      ...configMap.data,
      WEBSOCKET_SERVICE_HOST: '127.0.0.1',
      WEBSOCKET_SERVICE_PORT: String(port),
      WEBSOCKET_REDIS_URL: redis.url,
      // The manifest's 50,000 needs a larger open-file limit than test machines have.
      WEBSOCKET_MAX_CONNECTIONS: '1000',
      WEBSOCKET_WORKERS: '2',
      LOG_LEVEL: 'warn',
      JWT_SECRET_KEY: SECRET,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  service.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  await waitFor(async () => (await fetch(url('/readyz')).catch(() => undefined))?.ok === true, {
    timeoutMs: 30_000,
    message: `the service to be ready\n${output.join('')}`,
  });

  // One admitted socket, one refused handshake and one durable-looking publish, so every
  // labelled series has been touched at least once.
  const userId = 'live-series-user';
  const socket = new WebSocket(
    `ws://127.0.0.1:${port}/ws?token=${signToken(userId, { secret: SECRET })}`,
  );
  const frames: string[] = [];
  socket.on('message', (data) => frames.push(String(data)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const refused = new WebSocket(`ws://127.0.0.1:${port}/ws?token=not-a-token`);
  await new Promise((resolve) => refused.once('close', resolve));
  const publisher = new Redis(redis.url);
  try {
    await waitFor(
      async () =>
        Number(((await publisher.pubsub('NUMSUB', `ws:${userId}`)) as [string, number])[1]) === 1,
      { message: 'the user channel to be subscribed' },
    );
    const message = {
      position: 1,
      epoch: 'live-series',
      published_ms: Date.now(),
      event: 'class_created',
      data: { class_id: 'c-1' },
    };
    await publisher.publish(`ws:${userId}`, JSON.stringify(message));
    await waitFor(() => frames.length === 1, { message: 'the notification to arrive' });
  } finally {
    publisher.disconnect();
    socket.close();
  }
  const response = await fetch(url('/metrics'));
  expect(response.status).toBe(200);
  metrics = await response.text();
});

afterAll(async () => {
  if (service !== undefined && service.exitCode === null) {
    const exited = new Promise((resolve) => service.once('exit', resolve));
    service.kill('SIGTERM');
    const timer = setTimeout(() => service.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await redis?.stop();
});

/** The series names in a Prometheus text exposition. */
function exposedSeries(body: string): Set<string> {
  const names = new Set<string>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    names.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
  }
  return names;
}

/** Series in `exprs` that `/metrics` does not have, as `where: name`. */
function missing(exprs: ReadonlyArray<{ where: string; expr: string }>): string[] {
  const exposed = exposedSeries(metrics);
  return exprs.flatMap(({ where, expr }) =>
    [...seriesNames(expr)]
      .filter((name) => !exposed.has(name) && !SYNTHETIC.has(name))
      .map((name) => `${where}: ${name}`),
  );
}

describe('every series the dashboard and the alerts name exists in the live /metrics', () => {
  it('the dashboard', () => {
    expect(missing(dashboardQueries())).toEqual([]);
  });

  it('the alert rules', () => {
    const rules = alertRules().map((rule) => ({ where: rule.alert, expr: rule.expr }));
    expect(missing(rules)).toEqual([]);
  });

  it('the docs: every expression they write and every service series they name', () => {
    const repositoryRoot = join(paths.deploy, '..');
    expect(missing(docExpressions(repositoryRoot))).toEqual([]);
    const exposed = exposedSeries(metrics);
    const absent = metricDocs.flatMap((file) =>
      [
        ...readFileSync(join(repositoryRoot, file), 'utf8').matchAll(
          /huleedu_ws_[a-z0-9_]*[a-z0-9]/g,
        ),
      ]
        .map((match) => match[0])
        // A histogram is named by its base name; its series are _bucket, _sum and _count.
        .filter((name) => !exposed.has(name) && !exposed.has(`${name}_bucket`))
        .map((name) => `${file}: ${name}`),
    );
    expect([...new Set(absent)]).toEqual([]);
  });

  it('and the check can fail: a misspelled series is reported', () => {
    expect(
      missing([{ where: 'typo', expr: 'rate(huleedu_ws_frames_delivred_total[5m])' }]),
    ).toEqual(['typo: huleedu_ws_frames_delivred_total']);
  });

  it('the new histograms measured the handshake and the delivery, summed over the workers', () => {
    const value = (series: string) =>
      Number(
        metrics
          .split('\n')
          .find((line) => line.startsWith(`${series} `))
          ?.split(' ')[1],
      );
    expect(value('huleedu_ws_delivery_latency_seconds_count')).toBe(1);
    expect(value('huleedu_ws_handshake_duration_seconds_count{outcome="admitted"}')).toBe(1);
    expect(value('huleedu_ws_handshake_duration_seconds_count{outcome="refused"}')).toBe(1);
    expect(value('huleedu_ws_workers')).toBe(2);
  });
});

describe('the Deployment probes paths the live service answers', () => {
  it.each([
    ['startupProbe', container.startupProbe],
    ['livenessProbe', container.livenessProbe],
    ['readinessProbe', container.readinessProbe],
  ])('%s', async (_, probe) => {
    const response = await fetch(url(probe!.httpGet!.path!));
    expect(response.status).toBe(200);
  });
});
