import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { refreshTokenFrame, tokenSubprotocols } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

// The token out of the URL (Sec-WebSocket-Protocol), refreshed in place, keys from a JWKS URL,
// and ws.* events from Redis never forwarded: against the real service process.

let redis: RedisHandle;
let publisher: Redis;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  publisher = new Redis(redis.url);
});

afterEach(async () => {
  terminateClients();
  await Promise.all(services.splice(0).map((service) => service.stop()));
});

afterAll(async () => {
  publisher?.disconnect();
  await redis?.stop();
});

async function start(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const service = await startServiceProcess({ WEBSOCKET_REDIS_URL: redis.url, ...env });
  services.push(service);
  expect(await waitUntilReady(service)).toBe(true);
  return service;
}

describe('the token in Sec-WebSocket-Protocol', () => {
  it('connects with huleedu.v1 selected, delivers, and never logs the token', async () => {
    const service = await start();
    const token = signToken('header-teacher', { secret: SECRET });
    const client = connectClient(service.wsUrl(), {}, tokenSubprotocols(token));
    await client.opened;
    expect(client.socket.protocol).toBe('huleedu.v1');
    await waitFor(
      async () => {
        await publisher.publish('ws:header-teacher', '{"event":"class_created","data":{}}');
        return client.frames.length > 0;
      },
      { message: 'a notification over the header-authenticated socket' },
    );
    expect(service.output()).not.toContain(token);
  });
});

describe('refreshing the token in place', () => {
  it('answers ws.token_refreshed on the same socket, and closes 1008 for another user', async () => {
    const service = await start();
    const tab = connectClient(
      service.wsUrl(signToken('refresh-teacher', { secret: SECRET, expiresInSeconds: 120 })),
    );
    await tab.opened;
    tab.socket.send(
      refreshTokenFrame(signToken('refresh-teacher', { secret: SECRET, expiresInSeconds: 3600 })),
    );
    await waitFor(() => tab.all.some((frame) => frame.includes('"ws.token_refreshed"')), {
      message: 'ws.token_refreshed',
    });
    const answer = JSON.parse(tab.all.find((f) => f.includes('ws.token_refreshed'))!) as {
      data: { expires_at: number };
    };
    expect(answer.data.expires_at).toBeGreaterThan(Date.now() + 3_500_000);
    tab.socket.send(refreshTokenFrame(signToken('someone-else', { secret: SECRET })));
    expect(await tab.closed).toEqual({ code: 1008, reason: 'token_subject_mismatch' });
  });
});

describe('ws.* events published on a user channel', () => {
  it('are never forwarded; notifications around them are', async () => {
    const service = await start();
    const tab = connectClient(service.wsUrl(signToken('ws-teacher', { secret: SECRET })));
    await tab.opened;
    await waitFor(
      async () => {
        await publisher.publish(
          'ws:ws-teacher',
          '{"event":"ws.resync","data":{"position":999999,"epoch":"e","reason":"trimmed"}}',
        );
        await publisher.publish('ws:ws-teacher', '{"event":"class_created","data":{}}');
        return tab.all.length > 0;
      },
      { message: 'the notification after the forged control message' },
    );
    expect(tab.all.every((frame) => !frame.includes('ws.resync'))).toBe(true);
  });
});

describe('keys from a JWKS URL', () => {
  let jwks: Server;
  let reads = 0;
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  beforeAll(async () => {
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'key-1', use: 'sig', alg: 'RS256' };
    jwks = createServer((_request, response) => {
      reads++;
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => jwks.close(resolve));
  });

  it('verifies tokens by kid through the remote verifier, refusing an unknown kid', async () => {
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    const service = await start({ JWT_ALGORITHM: 'RS256', JWT_JWKS_URL: url, JWT_SECRET_KEY: '' });
    const sign = (kid: string) =>
      signToken('jwks-teacher', { algorithm: 'RS256', privateKey: privatePem, header: { kid } });
    const tab = connectClient(service.wsUrl(sign('key-1')));
    await tab.opened;
    expect(reads).toBeGreaterThanOrEqual(1);
    const unknown = connectClient(service.wsUrl(sign('key-unknown')));
    expect(await unknown.closed).toEqual({ code: 1008, reason: 'token_key_unknown' });
  });
});
