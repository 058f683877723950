import { connect } from 'node:net';
import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  connectClient,
  httpGet,
  metricValue,
  rssMb,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

let redis: RedisHandle;
let service: ServiceProcess;
let publisher: Redis;

const token = (userId: string) => signToken(userId, { secret: SECRET, expiresInSeconds: 600 });

beforeAll(async () => {
  redis = await startRedis();
  // Default limits: the budget and WEBSOCKET_MAX_BUFFERED_BYTES as a deployment gets them.
  service = await startServiceProcess({ WEBSOCKET_REDIS_URL: redis.url, LOG_LEVEL: 'info' });
  publisher = new Redis(redis.url);
  await waitUntilReady(service);
});

afterEach(() => terminateClients());

afterAll(async () => {
  publisher?.disconnect();
  await service?.stop();
  await redis?.stop();
});

describe('inbound traffic per socket is bounded (issue 10, attack 2)', () => {
  it('closes a client that floods ping and never reads; memory stays flat, health and a teacher are served', async () => {
    const teacher = connectClient(service.wsUrl(token('teacher-1')));
    await teacher.opened;
    const rssBefore = rssMb(service.pid);

    // The attack at a smaller scale: up to a million text `ping` frames (10 MB on the wire;
    // the probe sent 3 million) from a client that reads nothing, so no pong is ever drained.
    const attacker = connectClient(service.wsUrl(token('attacker')));
    await attacker.opened;
    attacker.socket.pause();
    let attackOver = false;
    const attack = (async () => {
      const deadline = Date.now() + 30_000;
      let sent = 0;
      while (sent < 1_000_000 && Date.now() < deadline) {
        if (attacker.socket.readyState !== WebSocket.OPEN) break;
        for (let i = 0; i < 1000; i++) attacker.socket.send('ping');
        sent += 1000;
        const backlog = attacker.socket.bufferedAmount > 4 << 20;
        await new Promise((resolve) => setTimeout(resolve, backlog ? 20 : 0));
      }
      attackOver = true;
      return sent;
    })();

    // Meanwhile: health checks and RSS, sampled until the attacker is gone.
    const healthMs: number[] = [];
    let rssPeak = rssBefore;
    while (!attackOver) {
      const started = performance.now();
      const { status } = await httpGet(service.httpUrl('/healthz'));
      expect(status).toBe(200);
      healthMs.push(performance.now() - started);
      rssPeak = Math.max(rssPeak, rssMb(service.pid));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const sent = await attack;
    const rssAfter = rssMb(service.pid);
    healthMs.sort((a, b) => a - b);
    const figures = {
      framesSent: sent,
      rssBeforeMb: Math.round(rssBefore),
      rssPeakMb: Math.round(rssPeak),
      rssAfterMb: Math.round(rssAfter),
      healthChecks: healthMs.length,
      healthP50Ms: Number(healthMs[Math.floor(healthMs.length / 2)]?.toFixed(1)),
      healthMaxMs: Number(healthMs.at(-1)?.toFixed(1)),
    };
    console.log('attack 2 figures', JSON.stringify(figures));
    // Without the limits the service read every frame and queued every pong: +170 MB per
    // million frames on the probe's machine. Now it stops reading after the burst.
    expect(rssPeak - rssBefore).toBeLessThan(40);
    expect(figures.healthMaxMs).toBeLessThan(1000);
    expect(attacker.socket.readyState).toBe(WebSocket.CLOSED);
    await waitFor(
      async () =>
        (await metricValue(service, 'huleedu_ws_server_closes_total{reason="rate_limited"}')) === 1,
      { message: 'the flood counted as rate_limited' },
    );
    expect(await metricValue(service, 'huleedu_ws_connections')).toBe(1);
    expect(
      service.logLines().filter((l) => l.kind === 'rate_limited' && l.suppressed === undefined),
    ).toHaveLength(1);

    // The teacher was never disturbed: a notification arrives, the heartbeat is answered.
    await publisher.publish('ws:teacher-1', '{"event":"class_created","data":{}}');
    teacher.socket.send('ping');
    await waitFor(() => teacher.frames.length === 2, { message: 'teacher served' });
    expect(teacher.frames).toEqual(['{"event":"class_created","data":{}}', 'pong']);
  });

  it('tells a flooding client that reads why it was closed: 1013 rate_limited', async () => {
    const client = connectClient(service.wsUrl(token('eager')));
    await client.opened;
    for (let i = 0; i < 200; i++) client.socket.send('ping');
    expect(await client.closed).toEqual({ code: 1013, reason: 'rate_limited' });
    // The burst (20 frames) was answered, nothing after it.
    expect(client.frames.length).toBeLessThanOrEqual(21);
    expect(client.frames.length).toBeGreaterThanOrEqual(20);
  });
});

describe('unauthenticated time is short (issue 10, attack 1 at small scale)', () => {
  it('answers 408 to connections that send nothing and closes them, counted, while health is served', async () => {
    const IDLE = 200;
    const timeoutSeconds = 5; // the shipped WEBSOCKET_REQUEST_TIMEOUT_SECONDS
    const started = Date.now();
    const idle = Array.from(
      { length: IDLE },
      () =>
        new Promise<{ reply: string; livedMs: number }>((resolve) => {
          const socket = connect(service.port, '127.0.0.1');
          let reply = '';
          socket.on('data', (chunk) => (reply += chunk));
          socket.on('error', () => undefined);
          socket.on('close', () => resolve({ reply, livedMs: Date.now() - started }));
        }),
    );
    // Health keeps answering while the idle connections are held.
    expect((await httpGet(service.httpUrl('/healthz'))).status).toBe(200);
    const closed = await Promise.all(idle);
    for (const connection of closed) {
      expect(connection.reply).toMatch(/^HTTP\/1.1 408 Request Timeout/);
      // Not Node's default of a minute or more: the configured timeout plus a check interval.
      expect(connection.livedMs).toBeLessThan(timeoutSeconds * 1000 * 4);
    }
    expect(
      await metricValue(service, 'huleedu_ws_http_client_errors_total{reason="request_timeout"}'),
    ).toBe(IDLE);
    expect((await httpGet(service.httpUrl('/healthz'))).status).toBe(200);
  });
});

/** One notification of about 64 KiB: the default outbound limit (1 MiB) overflows after a few. */
const BULK_PAYLOAD = JSON.stringify({ event: 'bulk', data: { text: 'x'.repeat(64 * 1024) } });
/** Published at most (bounded): far more than the kernel's socket buffers and the limit hold. */
const MAX_BULK_MESSAGES = 2_000;

describe('outbound traffic per socket is bounded: the slow consumer', () => {
  it('terminates a client that stops reading, and keeps delivering to the one that reads', async () => {
    const slow = connectClient(service.wsUrl(token('bulk-user')));
    const reader = connectClient(service.wsUrl(token('bulk-user')));
    for (const client of [slow, reader]) {
      await waitFor(() => client.controls.some((control) => control.event === 'ws.synced'), {
        message: 'ws.synced',
      });
    }
    // The slow client stops reading its TCP connection: what the service sends piles up in the
    // kernel's buffers, then in the service's outbound queue for it.
    slow.socket.pause();
    const series = 'huleedu_ws_server_closes_total{reason="slow_consumer"}';
    // The earlier tests of this file share the service: count from where they left the metric.
    const before = await metricValue(service, series).catch(() => 0);
    let published = 0;
    let dropped = false;
    while (!dropped && published < MAX_BULK_MESSAGES) {
      for (let i = 0; i < 20; i++) await publisher.publish('ws:bulk-user', BULK_PAYLOAD);
      published += 20;
      dropped = await metricValue(service, series).then(
        (value) => value === before + 1,
        () => false,
      );
    }
    expect(dropped).toBe(true);
    // Once it reads again it finds the connection gone without a close frame (1006), as a
    // browser would: its client reconnects and resumes.
    slow.socket.resume();
    expect(await slow.closed).toEqual({ code: 1006, reason: '' });
    // The reading client of the same user got every message and is still connected.
    await waitFor(() => reader.frames.length === published, {
      message: `all ${published} messages at the reading client`,
      timeoutMs: 30_000,
    });
    expect(reader.socket.readyState).toBe(reader.socket.OPEN);
    expect(await metricValue(service, series)).toBe(before + 1);
  });
});
