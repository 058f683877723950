import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createNotifier, type Notifier } from '@huleedu/notify';
import { freePort } from '@huleedu/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';

let notifier: Notifier;
let port: number;
let close: () => Promise<void>;

beforeAll(async () => {
  // Only token and guard checks run here: nothing is published, so no Redis is needed.
  notifier = createNotifier({ redis: `redis://127.0.0.1:${await freePort()}` });
  const config = loadConfig({ JWT_SECRET_KEY: 'demo-guard-test-secret-0123456789abcdef' });
  const server = createDemoServer({
    config,
    notifier,
    history: { forget: async () => {} },
    publicDir: fileURLToPath(new URL('../dist/public', import.meta.url)),
    allowedHosts: ['demo.internal'],
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  close = () => new Promise((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await close?.();
  await notifier?.close();
});

/** A request with exactly these headers (fetch would set Host and Origin itself). */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers, setHost: false },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        response.on('end', () => {
          const parsed = text.startsWith('{') ? JSON.parse(text) : {};
          resolve({ status: response.statusCode ?? 0, code: parsed.error?.code });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };

describe('the demo answers its own page only', () => {
  it('serves loopback hosts, its bound interface and configured names', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'demo.internal',
    ]) {
      expect((await send('POST', '/api/token', { host })).status, host).toBe(200);
    }
  });

  it('refuses another Host, on every request (DNS rebinding)', async () => {
    for (const host of [
      `evil.example:${port}`,
      `evil.example@localhost:${port}`,
      '',
      'localhost/x',
    ]) {
      const token = await send('POST', '/api/token', { host });
      expect(token, host).toEqual({ status: 403, code: 'host_not_allowed' });
    }
    expect(await send('GET', '/', { host: 'rebind.evil.example' })).toEqual({
      status: 403,
      code: 'host_not_allowed',
    });
    expect((await send('GET', '/api/samples', { host: `localhost:${port}` })).status).toBe(200);
  });

  it("refuses a POST from another page's origin", async () => {
    const host = `127.0.0.1:${port}`;
    const own = await send('POST', '/api/token', { host, origin: `http://${host}` });
    expect(own.status).toBe(200);
    for (const origin of [
      'https://evil.example',
      'null',
      `http://localhost:${port}`,
      `https://${host}`,
    ]) {
      expect(await send('POST', '/api/token', { host, origin }), origin).toEqual({
        status: 403,
        code: 'origin_not_allowed',
      });
    }
  });

  it('accepts a POST body only as application/json (415 otherwise)', async () => {
    const host = `127.0.0.1:${port}`;
    const body = JSON.stringify({ type: 'class_created' });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      expect(
        await send('POST', '/api/publish', { host, 'content-type': type }, body),
        type,
      ).toEqual({
        status: 415,
        code: 'unsupported_media_type',
      });
    }
    // A body with no type at all is refused too; a bodiless POST needs none.
    const untyped = await send(
      'POST',
      '/api/publish',
      { host, 'content-length': String(body.length) },
      body,
    );
    expect(untyped).toEqual({ status: 415, code: 'unsupported_media_type' });
    expect((await send('POST', '/api/token', { host })).status).toBe(200);
    const typed = await send(
      'POST',
      '/api/publish',
      { host, ...json, 'content-type': 'application/json; charset=utf-8' },
      '[]',
    );
    // Past the guard: the route itself refuses the array.
    expect(typed).toEqual({ status: 400, code: 'invalid_json' });
  });
});
