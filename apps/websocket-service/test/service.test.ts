import { signToken } from '@huleedu/auth';
import { createNotifier } from '@huleedu/notify';
import { freePort, type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { settingsFromEnv } from '../src/config.js';
import type { Readiness } from '../src/health.js';
import { type ServiceHandle, startService } from '../src/service.js';
import type { WorkerSetView } from '../src/workers/worker-link.js';
import { captureLogger, closeOf, textFrames } from './helpers.js';

const secret = 'service-test-secret-0123456789abcdef';
let redis: RedisHandle;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

async function start(
  env: Record<string, string> = {},
): Promise<{ service: ServiceHandle; log: ReturnType<typeof captureLogger> }> {
  const log = captureLogger();
  const settings = settingsFromEnv({
    JWT_SECRET_KEY: secret,
    WEBSOCKET_SERVICE_HOST: '127.0.0.1',
    WEBSOCKET_SERVICE_PORT: '0',
    WEBSOCKET_REDIS_URL: redis.url,
    WEBSOCKET_SHUTDOWN_GRACE_SECONDS: '2',
    ...env,
  });
  const service = await startService(settings, { logger: log.logger, processMetrics: false });
  return { service, log };
}

describe('startService', () => {
  it('as a cluster worker, answers /readyz and /metrics through the cluster view', async () => {
    const log = captureLogger();
    const settings = settingsFromEnv({
      JWT_SECRET_KEY: secret,
      WEBSOCKET_SERVICE_HOST: '127.0.0.1',
      WEBSOCKET_SERVICE_PORT: '0',
      WEBSOCKET_REDIS_URL: redis.url,
    });
    const seen: Readiness[] = [];
    const cluster: WorkerSetView = {
      slot: 2,
      readiness: (local) => {
        seen.push(local);
        return { ready: false, reasons: ['workers_not_ready'], workers: { ready: 1, expected: 3 } };
      },
      metrics: async () => ({ contentType: 'text/plain', body: 'whole_set 1\n' }),
    };
    const service = await startService(settings, {
      logger: log.logger,
      processMetrics: false,
      cluster,
    });
    try {
      // The primary logs "listening" for the whole set; a worker says it is one of several.
      expect(log.lines.map((l) => l.msg)).toContain('worker listening');
      expect(log.lines.map((l) => l.msg)).not.toContain('listening');
      await waitFor(() => service.isReady(), { message: 'this worker ready' });
      const readyz = await fetch(`http://127.0.0.1:${service.port}/readyz`);
      expect(readyz.status).toBe(503);
      expect(await readyz.json()).toEqual({
        status: 'not_ready',
        reasons: ['workers_not_ready'],
        workers: { ready: 1, expected: 3 },
      });
      expect(seen.at(-1)).toEqual({ ready: true, reasons: [] }); // this worker's own view
      const metrics = await fetch(`http://127.0.0.1:${service.port}/metrics`);
      expect(await metrics.text()).toBe('whole_set 1\n');
      // Its own registry carries the per-worker gauge the primary sums.
      expect(
        await service.metrics.registry.getSingleMetricAsString('huleedu_ws_worker_connections'),
      ).toContain('huleedu_ws_worker_connections{worker="2"} 0');
    } finally {
      await service.close();
    }
  });

  it('listens on the bound port, logs "listening" and becomes ready with Redis', async () => {
    const { service, log } = await start();
    try {
      expect(service.port).toBeGreaterThan(0);
      expect(log.lines.find((l) => l.msg === 'listening')).toMatchObject({ port: service.port });
      await waitFor(() => service.isReady(), { message: 'ready' });
    } finally {
      await service.close();
    }
  });

  it('wires auth, backplane and delivery: a notify publish reaches the socket', async () => {
    const { service } = await start();
    const notifier = createNotifier({ redis: redis.url });
    try {
      await waitFor(() => service.isReady(), { message: 'ready' });
      const client = new WebSocket(
        `ws://127.0.0.1:${service.port}/ws?token=${signToken('wired', { secret })}`,
      );
      const frames = textFrames(client);
      await new Promise((resolve) => client.once('open', resolve));
      // History on: a first connect is live from the top it is synced at; publish after that.
      await waitFor(() => frames.some((frame) => frame.startsWith('{"event":"ws.synced"')), {
        message: 'synced',
      });
      expect((await notifier.publish('wired', 'hello', { n: 1 })).receivers).toBe(1);
      await waitFor(() => frames.length >= 2, { message: 'delivered' });
      expect(JSON.parse(frames[1]!)).toMatchObject({ event: 'hello', data: { n: 1 } });
      client.terminate();
    } finally {
      await notifier.close();
      await service.close();
    }
  });

  it('close() turns not-ready at once, sends 1001, releases the port and is idempotent', async () => {
    const { service } = await start();
    await waitFor(() => service.isReady(), { message: 'ready' });
    const client = new WebSocket(
      `ws://127.0.0.1:${service.port}/ws?token=${signToken('closing', { secret })}`,
    );
    const closed = closeOf(client);
    await new Promise((resolve) => client.once('open', resolve));
    const first = service.close();
    expect(service.isReady()).toBe(false);
    expect(service.close()).toBe(first);
    await first;
    expect(await closed).toEqual({ code: 1001, reason: 'server_shutdown' });
    expect(service.server.listening).toBe(false);
  });

  it('reports a clear error when the port is taken', async () => {
    const { service } = await start();
    try {
      await expect(start({ WEBSOCKET_SERVICE_PORT: String(service.port) })).rejects.toThrow(
        `cannot listen on 127.0.0.1:${service.port}: EADDRINUSE`,
      );
    } finally {
      await service.close();
    }
  });

  it('starts without Redis and is not ready until Redis is reachable', async () => {
    const port = await freePort();
    const { service } = await start({ WEBSOCKET_REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(service.isReady()).toBe(false);
    } finally {
      await service.close();
    }
  });
});
