import { randomBytes } from 'node:crypto';
import { type ClientRequest, request } from 'node:http';
import type { Socket } from 'node:net';
import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  httpGet,
  metricValue,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  waitUntilReady,
} from './harness.js';

// Issue 10, items 1 and 3 at a scale this machine allows: the caps are set low, the clients use
// several loopback addresses (127.0.0.1, 127.0.0.2, ...) as separate client addresses.

/** What a handshake got: 101 (the socket is kept open, holding its place) or an HTTP refusal. */
interface Handshake {
  readonly status: number;
  readonly retryAfter?: string;
  readonly body: string;
}

const held: Array<Socket | ClientRequest> = [];
afterEach(() => {
  for (const socket of held.splice(0)) socket.destroy();
});

function handshake(service: ServiceProcess, from: string, token: string): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: service.port,
      path: `/ws?token=${token}`,
      localAddress: from,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    });
    held.push(req);
    req.on('upgrade', (_response, socket) => {
      held.push(socket);
      socket.on('error', () => undefined);
      resolve({ status: 101, body: '' });
    });
    req.on('response', (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body,
          ...(response.headers['retry-after'] === undefined
            ? {}
            : { retryAfter: String(response.headers['retry-after']) }),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const token = (userId: string) => signToken(userId, { secret: SECRET, expiresInSeconds: 600 });

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('connection budget', () => {
  let service: ServiceProcess;
  beforeAll(async () => {
    service = await startServiceProcess({
      WEBSOCKET_REDIS_URL: redis.url,
      LOG_LEVEL: 'info',
      WEBSOCKET_MAX_CONNECTIONS: '6',
      WEBSOCKET_MAX_CONNECTIONS_PER_ADDRESS: '3',
      WEBSOCKET_MAX_CONNECTIONS_PER_USER: '10',
    });
    await waitUntilReady(service);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('caps sockets per address (429) and in all (503), with Retry-After, while health is served', async () => {
    const first = [];
    for (let i = 0; i < 3; i++) first.push(await handshake(service, '127.0.0.1', token('t1')));
    expect(first.map((h) => h.status)).toEqual([101, 101, 101]);

    const overAddress = await handshake(service, '127.0.0.1', token('t1'));
    expect(overAddress).toEqual({
      status: 429,
      retryAfter: '30',
      body: '{"error":"address_connections"}',
    });
    // Another address still gets in, up to the global cap.
    for (let i = 0; i < 3; i++) {
      expect((await handshake(service, '127.0.0.2', token('t2'))).status).toBe(101);
    }
    const overAll = await handshake(service, '127.0.0.3', token('t3'));
    expect(overAll).toEqual({ status: 503, retryAfter: '5', body: '{"error":"capacity"}' });
    expect((await httpGet(service.httpUrl('/healthz'))).status).toBe(200);
    expect((await httpGet(service.httpUrl('/readyz'))).status).toBe(200);

    const rejected = (reason: string) =>
      metricValue(service, `huleedu_ws_connections_rejected_total{reason="${reason}"}`);
    expect(await rejected('address_connections')).toBe(1);
    expect(await rejected('capacity')).toBe(1);
  });

  it('gives the place back when a socket closes', async () => {
    // The previous test's six sockets were closed (afterEach): once the service has seen them
    // go, the places are free again (without the release, this address would get 503).
    await waitFor(async () => (await metricValue(service, 'huleedu_ws_connections')) === 0, {
      message: 'the service to see the sockets close',
    });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await handshake(service, '127.0.0.4', token('t4')));
    expect(results.map((h) => h.status)).toEqual([101, 101, 101]);
  });
});

describe('handshake rate per address', () => {
  let service: ServiceProcess;
  beforeAll(async () => {
    service = await startServiceProcess({
      WEBSOCKET_REDIS_URL: redis.url,
      LOG_LEVEL: 'info',
      WEBSOCKET_HANDSHAKE_BURST: '5',
      WEBSOCKET_HANDSHAKE_RATE_PER_SECOND: '1',
    });
    await waitUntilReady(service);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('answers 429 past the burst before verifying any token, and other addresses are not slowed', async () => {
    // Bad tokens: each costs the service a verification unless the rate limit stops it first.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await handshake(service, '127.0.0.5', 'not-a-token')).status);
    }
    expect(statuses.slice(0, 5)).toEqual([101, 101, 101, 101, 101]);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(6);
    const refused = await handshake(service, '127.0.0.5', 'not-a-token');
    expect(refused).toMatchObject({ status: 429, body: '{"error":"handshake_rate"}' });
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await handshake(service, '127.0.0.6', token('t6'))).status).toBe(101);
    expect(
      await metricValue(service, 'huleedu_ws_connections_rejected_total{reason="token_malformed"}'),
    ).toBeLessThanOrEqual(7);
    expect((await httpGet(service.httpUrl('/healthz'))).status).toBe(200);
  });
});
