import { connect as tcpConnect } from 'node:net';
import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  httpGet,
  metricValue,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

let redis: RedisHandle;
let service: ServiceProcess;
const token = (userId: string) => signToken(userId, { secret: SECRET, expiresInSeconds: 600 });

beforeAll(async () => {
  redis = await startRedis();
  service = await startServiceProcess({
    WEBSOCKET_REDIS_URL: redis.url,
    WEBSOCKET_PING_INTERVAL: '0.5',
    WEBSOCKET_MAX_PAYLOAD_BYTES: '256',
  });
  await waitUntilReady(service);
});

afterEach(() => terminateClients());

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
});

/**
 * Opens a WebSocket by hand over TCP, then reads and discards everything without ever replying:
 * no pong, no close frame, like a peer whose process hangs. Resolves with a promise that
 * settles when the server drops the connection.
 */
function silentPeer(port: number, path: string): Promise<{ dropped: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    const dropped = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('error', () => undefined);
    socket.once('data', (chunk) => {
      if (!chunk.toString().startsWith('HTTP/1.1 101')) reject(new Error(`no upgrade: ${chunk}`));
      socket.on('data', () => undefined); // keep reading, answer nothing
      resolve({ dropped }); // wrapped: resolving with a promise would wait for it
    });
  });
}

describe('service lifecycle', () => {
  it('answers the text frame "ping" with "pong"', async () => {
    const tab = connectClient(service.wsUrl(token('heartbeat-user')));
    await tab.opened;
    tab.socket.send('ping');
    await waitFor(() => tab.frames.length === 1, { message: 'pong' });
    expect(tab.frames).toEqual(['pong']);
  });

  it('keeps peers that answer protocol pings and reaps one that does not', async () => {
    const healthy = connectClient(service.wsUrl(token('healthy')));
    const silent = connectClient(service.wsUrl(token('silent')), { autoPong: false });
    await Promise.all([healthy.opened, silent.opened]);
    const { dropped } = await silentPeer(service.port, `/ws?token=${token('asleep')}`);
    // Two intervals of 0.5 s are enough; allow generous slack for a loaded machine.
    expect((await silent.closed).code).toBe(1006);
    await dropped;
    expect(healthy.socket.readyState).toBe(healthy.socket.OPEN);
    expect(
      await metricValue(service, 'huleedu_ws_server_closes_total{reason="dead_peer"}'),
    ).toBeGreaterThanOrEqual(2);
  });

  it('counts any inbound frame as life: a peer that never pongs but sends "ping" text stays', async () => {
    const browserLike = connectClient(service.wsUrl(token('app-heartbeat')), { autoPong: false });
    await browserLike.opened;
    const timer = setInterval(() => browserLike.socket.send('ping'), 150);
    try {
      // Four ping intervals: a peer judged by pongs alone would be gone by now.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(browserLike.socket.readyState).toBe(browserLike.socket.OPEN);
      expect(browserLike.frames.filter((f) => f === 'pong').length).toBeGreaterThan(5);
    } finally {
      clearInterval(timer);
    }
  });

  it('closes with 1009 when a client sends a frame over the payload limit', async () => {
    const tab = connectClient(service.wsUrl(token('chatty')));
    await tab.opened;
    tab.socket.send('x'.repeat(300));
    expect((await tab.closed).code).toBe(1009);
    expect(
      await metricValue(service, 'huleedu_ws_server_closes_total{reason="message_too_big"}'),
    ).toBe(1);
  });

  it('answers 404 without upgrading on every path but /ws, the old gateway route included', async () => {
    for (const path of ['/ws/v1/status/client-123', '/socket.io/', '/']) {
      const status = await new Promise<number>((resolve) => {
        const tab = connectClient(`ws://127.0.0.1:${service.port}${path}?token=${token('u')}`);
        tab.socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      });
      expect(status, path).toBe(404);
    }
    expect((await httpGet(service.httpUrl('/ws/v1/status/client-123'))).status).toBe(404);
  });

  it('reports liveness, readiness and Prometheus metrics', async () => {
    expect(await httpGet(service.httpUrl('/healthz'))).toEqual({
      status: 200,
      body: '{"status":"ok"}',
    });
    expect(await httpGet(service.httpUrl('/readyz'))).toEqual({
      status: 200,
      body: '{"status":"ready"}',
    });
    const tab = connectClient(service.wsUrl(token('metrics-user')));
    await tab.opened;
    await waitFor(async () => (await metricValue(service, 'huleedu_ws_connections')) >= 1, {
      message: 'connection counted',
    });
    const { body } = await httpGet(service.httpUrl('/metrics'));
    expect(body).toContain('process_resident_memory_bytes');
    expect(body).not.toContain('metrics-user');
  });

  it('refuses to start without JWT_SECRET_KEY, naming every bad variable', async () => {
    await expect(
      startServiceProcess({ JWT_SECRET_KEY: '', WEBSOCKET_PING_INTERVAL: 'often' }),
    ).rejects.toThrow(/service exited with 1/);
    // The fatal line names each problem (checked on the error text, which carries the output).
    const error = await startServiceProcess({
      JWT_SECRET_KEY: '',
      WEBSOCKET_PING_INTERVAL: 'often',
      WEBSOCKET_SERVICE_PORT: 'eighty',
      WEBSOCKET_REDIS_URL: 'http://localhost:6379',
      JWT_ALGORITHM: 'none',
    }).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(error).toContain('service exited with 1');
    const fatal = error.split('\n').find((line) => line.includes('"level":"fatal"'));
    const { issues, msg } = JSON.parse(fatal ?? '{}') as {
      issues: { variable: string; message: string }[];
      msg: string;
    };
    expect(Object.fromEntries(issues.map((i) => [i.variable, i.message]))).toEqual({
      WEBSOCKET_SERVICE_PORT: 'expected a whole number from 0 to 65535, got "eighty"',
      JWT_ALGORITHM:
        'expected one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, got "none"',
      WEBSOCKET_PING_INTERVAL: 'expected a number of seconds from 0.1 to 3600, got "often"',
      JWT_SECRET_KEY: expect.stringContaining('is required'),
      WEBSOCKET_REDIS_URL: 'expected a redis:// or rediss:// URL, got scheme "http:"',
    });
    // The log line's message names each variable too, for people reading plain logs.
    for (const { variable } of issues) expect(msg).toContain(`${variable} `);
  });
});

describe('SIGTERM', () => {
  it('turns not-ready, closes every socket with 1001 and exits 0', async () => {
    const own = await startServiceProcess({
      WEBSOCKET_REDIS_URL: redis.url,
      WEBSOCKET_SHUTDOWN_GRACE_SECONDS: '3',
    });
    try {
      await waitUntilReady(own);
      const tabs = ['s-1', 's-1', 's-2'].map((u) => connectClient(own.wsUrl(token(u))));
      await Promise.all(tabs.map((t) => t.opened));
      // A peer that never answers the close frame keeps the drain open for the grace period,
      // which lets the test watch readiness during shutdown.
      const stuck = await silentPeer(own.port, `/ws?token=${token('s-stuck')}`);

      own.signal('SIGTERM');
      for (const tab of tabs)
        expect(await tab.closed).toEqual({ code: 1001, reason: 'server_shutdown' });
      const during = await httpGet(own.httpUrl('/readyz'));
      expect(during.status).toBe(503);
      expect(JSON.parse(during.body).reasons).toContain('draining');
      // New handshakes are turned away with the same close.
      const late = connectClient(own.wsUrl(token('s-late')));
      expect(await late.closed).toEqual({ code: 1001, reason: 'server_shutdown' });

      // The stuck peer is terminated once the grace period is over; then the process exits 0.
      await stuck.dropped;
      expect(await own.exited).toEqual({ code: 0, signal: null });
      const messages = own.logLines().map((l) => l.msg);
      expect(messages).toContain('shutting down');
      expect(messages.at(-1)).toBe('stopped');
    } finally {
      await own.stop();
    }
  });

  it('exits 0 on SIGINT too, and promptly when there are no sockets', async () => {
    const own = await startServiceProcess({ WEBSOCKET_REDIS_URL: redis.url });
    await waitUntilReady(own);
    own.signal('SIGINT');
    expect(await own.exited).toEqual({ code: 0, signal: null });
  });
});
