import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTokenVerifier } from '@huleedu/auth';
import { createNotifier, type Notifier } from '@huleedu/notify';
import {
  createDurablePublisher,
  type RedisHandle,
  startRedis,
  TEST_SECRET,
  waitFor,
} from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { demoHistory } from '../src/history.js';

let redis: RedisHandle;
let notifier: Notifier;
let redisClient: Redis;
let base: string;
let close: () => Promise<void>;

beforeAll(async () => {
  redis = await startRedis();
  notifier = createNotifier({ redis: redis.url });
  redisClient = new Redis(redis.url);
  const config = loadConfig({
    JWT_SECRET_KEY: TEST_SECRET,
    WEBSOCKET_REDIS_URL: redis.url,
    WEBSOCKET_PUBLIC_URL: 'ws://127.0.0.1:9999/ws',
  });
  const server = createDemoServer({
    config,
    notifier,
    history: demoHistory(redisClient, config.userId, config.channelPrefix),
    publicDir: fileURLToPath(new URL('../dist/public', import.meta.url)),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await close?.();
  await notifier?.close();
  redisClient?.disconnect();
  await redis?.stop();
});

const post = (path: string, body?: string) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  });

describe('demo API', () => {
  it('POST /api/token signs a token the service would accept for the demo user', async () => {
    const response = await post('/api/token');
    expect(response.status).toBe(200);
    const session = (await response.json()) as { token: string; userId: string; url: string };
    expect(session.userId).toBe('teacher-1');
    expect(session.url).toBe('ws://127.0.0.1:9999/ws');
    const verified = createTokenVerifier({ secret: TEST_SECRET }).verify(session.token);
    expect(verified.userId).toBe('teacher-1');
    expect(verified.expiresAt - Date.now()).toBeGreaterThan(800_000);
  });

  it('GET /api/samples lists every catalogue type', async () => {
    const { types } = (await (await fetch(`${base}/api/samples`)).json()) as { types: string[] };
    expect(types).toHaveLength(18);
    expect(types).toContain('batch_results_ready');
  });

  it('POST /api/publish puts a valid notification on the demo user channel', async () => {
    // A real subscriber on the user's channel: redis-cli in raw mode prints each message.
    const subscriber = spawn('redis-cli', [
      '-p',
      String(redis.port),
      '--raw',
      'SUBSCRIBE',
      'ws:teacher-1',
    ]);
    let output = '';
    subscriber.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      await waitFor(() => output.includes('ws:teacher-1'), { message: 'redis-cli subscribed' });
      const response = await post('/api/publish', JSON.stringify({ type: 'class_created' }));
      expect(response.status).toBe(200);
      const published = await response.json();
      expect(published).toEqual({
        type: 'class_created',
        userId: 'teacher-1',
        id: expect.any(String),
        position: expect.any(Number),
        epoch: expect.any(String),
        receivers: 1,
      });
      const line = await waitFor(() => output.split('\n').find((l) => l.startsWith('{')));
      const envelope = JSON.parse(line) as { event: string; data: Record<string, unknown> };
      expect(envelope).toMatchObject({
        position: published.position,
        epoch: published.epoch,
        id: published.id,
      });
      expect(envelope.event).toBe('class_created');
      expect(envelope.data).toMatchObject({ class_id: 'class-9c', category: 'class_management' });
    } finally {
      subscriber.kill();
    }
  });

  it('POST /api/publish without a type publishes a random sample', async () => {
    const response = await post('/api/publish');
    expect(response.status).toBe(200);
    const { type } = (await response.json()) as { type: string };
    expect(typeof type).toBe('string');
  });

  it("GET /api/notifications lists what the demo published, oldest first (the app's own list)", async () => {
    const before = await fetch(`${base}/api/notifications`);
    const { notifications: earlier } = (await before.json()) as { notifications: unknown[] };
    await post('/api/publish', JSON.stringify({ type: 'batch_results_ready' }));
    await post('/api/publish', JSON.stringify({ type: 'student_added_to_class' }));
    const { notifications } = (await (await fetch(`${base}/api/notifications`)).json()) as {
      notifications: { event: string; data: Record<string, unknown> }[];
    };
    expect(notifications.slice(earlier.length).map((n) => n.event)).toEqual([
      'batch_results_ready',
      'student_added_to_class',
    ]);
    expect(notifications.at(-1)?.data).toMatchObject({
      category: 'class_management',
      student_name: 'Alva Lindqvist',
    });
  });

  it("POST /api/history/forget deletes the demo user's history, and only theirs", async () => {
    const durable = createDurablePublisher(redis.url);
    try {
      await durable.publish('teacher-1', { event: 'e', data: {} });
      await durable.publish('another-teacher', { event: 'e', data: {} });
      const exists = () =>
        redisClient.exists(
          '{ws:teacher-1}:history',
          '{ws:teacher-1}:meta',
          '{ws:another-teacher}:history',
        );
      expect(await exists()).toBe(3);
      const response = await post('/api/history/forget');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ forgotten: 'teacher-1' });
      expect(await exists()).toBe(1);
    } finally {
      await durable.close();
    }
  });

  it('refuses unknown types and bodies that are not JSON objects, with a code', async () => {
    const unknown = await post('/api/publish', JSON.stringify({ type: 'launch_rockets' }));
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: { code: 'unknown_type', message: 'no sample for notification type launch_rockets' },
    });
    const garbage = await post('/api/publish', '{nope');
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    const array = await post('/api/publish', '[]');
    expect(array.status).toBe(400);
  });

  it('serves the page and the bundled client, and 404s anything else', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    const script = await fetch(`${base}/app.js`);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect((await script.text()).length).toBeGreaterThan(1_000);
    expect((await fetch(`${base}/etc/passwd`)).status).toBe(404);
    expect((await fetch(`${base}/api/token`)).status).toBe(404);
  });
});
