import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { waitFor } from '@huleedu/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Readiness } from '../src/health.js';
import {
  ANSWER_LINGER_MS,
  type ClientErrorKind,
  createHttpServer,
  type MetricsExposition,
  pathOf,
  rejectUpgrade,
} from '../src/server.js';
import { captureLogger } from './helpers.js';

let port: number;
let readiness: Readiness = { ready: true, reasons: [] };
let metricsAnswer: MetricsExposition = { contentType: 'text/plain; version=0.0.4', body: 'm 1\n' };
const upgrades: string[] = [];
const clientErrors: ClientErrorKind[] = [];
const log = captureLogger();
const REQUEST_TIMEOUT_MS = 600;
const server = createHttpServer({
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  onClientError: (kind) => clientErrors.push(kind),
  upgrade: (req, socket) => {
    upgrades.push(req.url ?? '');
    socket.end('HTTP/1.1 418 Teapot\r\nContent-Length: 0\r\n\r\n');
  },
  readiness: () => readiness,
  metrics: async () => metricsAnswer,
  logger: log.logger,
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function get(
  path: string,
  method = 'GET',
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Attempts a WebSocket upgrade and resolves with the HTTP status the server answered. */
function upgradeStatus(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error(`upgrade of ${path} succeeded`)));
    ws.once('error', () => undefined);
  });
}

describe('createHttpServer', () => {
  it('answers /healthz and /metrics', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    const metrics = await get('/metrics');
    expect(metrics).toMatchObject({ status: 200, body: 'm 1\n' });
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4');
  });

  it('answers /readyz with 200 when ready and 503 with the reasons otherwise', async () => {
    readiness = { ready: true, reasons: [] };
    expect(await get('/readyz')).toMatchObject({ status: 200, body: '{"status":"ready"}' });
    readiness = { ready: false, reasons: ['redis_disconnected', 'draining'] };
    expect(await get('/readyz')).toMatchObject({
      status: 503,
      body: '{"status":"not_ready","reasons":["redis_disconnected","draining"]}',
    });
    expect((await get('/readyz', 'HEAD')).status).toBe(503);
    readiness = { ready: true, reasons: [] };
  });

  it('adds the worker counts to /readyz in multi-process mode', async () => {
    readiness = { ready: true, reasons: [], workers: { ready: 3, expected: 3 } };
    expect(await get('/readyz')).toMatchObject({
      status: 200,
      body: '{"status":"ready","workers":{"ready":3,"expected":3}}',
    });
    readiness = {
      ready: false,
      reasons: ['workers_not_ready'],
      workers: { ready: 2, expected: 3 },
    };
    expect(await get('/readyz')).toMatchObject({
      status: 503,
      body: '{"status":"not_ready","reasons":["workers_not_ready"],"workers":{"ready":2,"expected":3}}',
    });
    readiness = { ready: true, reasons: [] };
  });

  it('answers /metrics with the status the metrics source gives (503 when it cannot gather)', async () => {
    const saved = metricsAnswer;
    metricsAnswer = { status: 503, contentType: 'application/json', body: '{"error":"x"}' };
    try {
      const answer = await get('/metrics');
      expect(answer).toMatchObject({ status: 503, body: '{"error":"x"}' });
      expect(answer.headers['content-type']).toBe('application/json');
    } finally {
      metricsAnswer = saved;
    }
  });

  it('hands only GET /ws upgrades to the WebSocket layer', async () => {
    upgrades.length = 0;
    expect(await upgradeStatus('/ws?token=abc')).toBe(418);
    expect(upgrades).toEqual(['/ws?token=abc']);
  });

  it('answers 404 without upgrading on every other path, the old gateway route included', async () => {
    upgrades.length = 0;
    for (const path of ['/ws/v1/status/client-1', '/', '/ws/', '/socket.io/?EIO=4', '/healthz']) {
      expect(await upgradeStatus(path), path).toBe(404);
    }
    expect(upgrades).toEqual([]);
    expect((await get('/ws/v1/status/client-1')).status).toBe(404);
    expect((await get('/nope')).status).toBe(404);
  });

  it('asks plain HTTP requests to /ws to upgrade, and refuses other methods', async () => {
    expect(await get('/ws?token=abc')).toMatchObject({ status: 426 });
    expect((await get('/healthz', 'POST')).status).toBe(405);
  });

  it('answers 400 to malformed HTTP without crashing', async () => {
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('close', () => resolve(data));
    });
    expect(reply).toMatch(/^HTTP\/1.1 400/);
    expect(clientErrors).toContain('bad_request');
    expect((await get('/healthz')).status).toBe(200);
  });

  it('answers 408 and closes a connection that sends nothing, or too little, in time', async () => {
    /** Opens a raw connection, writes `bytes`, and resolves with the reply and how long it lived. */
    const idle = (bytes: string) =>
      new Promise<{ reply: string; livedMs: number }>((resolve) => {
        const started = Date.now();
        const socket = connect(port, '127.0.0.1', () => {
          if (bytes !== '') socket.write(bytes);
        });
        let reply = '';
        socket.on('data', (chunk) => (reply += chunk));
        socket.on('close', () => resolve({ reply, livedMs: Date.now() - started }));
      });
    clientErrors.length = 0;
    const [silent, partial] = await Promise.all([
      idle(''),
      idle('GET /ws?token=abc HTTP/1.1\r\nHost: x\r\n'),
    ]);
    for (const connection of [silent, partial]) {
      expect(connection.reply).toMatch(/^HTTP\/1.1 408 Request Timeout/);
      // The timeout plus Node's checking interval (a quarter of it here), with slack for load.
      expect(connection.livedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      expect(connection.livedMs).toBeLessThan(REQUEST_TIMEOUT_MS * 10);
    }
    expect(clientErrors).toEqual(['request_timeout', 'request_timeout']);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('closes an answered connection for good, even when the peer never closes its side', async () => {
    // A peer with allowHalfOpen ignores our FIN: without the close, each such connection would
    // hold a descriptor forever after its 408 (or after a 429/503 before the upgrade).
    const refusing = createServer();
    refusing.on('upgrade', (_request, socket) => rejectUpgrade(socket, 429, 'Too Many Requests'));
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const refusingPort = (refusing.address() as AddressInfo).port;
    const open = (target: number, bytes: string) => {
      const socket = connect({ port: target, host: '127.0.0.1', allowHalfOpen: true });
      socket.on('error', () => undefined);
      let reply = '';
      socket.on('data', (chunk) => (reply += chunk));
      if (bytes !== '') socket.write(bytes);
      return { socket, reply: () => reply };
    };
    const connections = (target: Server) =>
      new Promise<number>((resolve) => target.getConnections((_error, count) => resolve(count)));
    try {
      const silent = open(port, '');
      const refused = open(
        refusingPort,
        'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      );
      await waitFor(() => silent.reply().startsWith('HTTP/1.1 408'), { message: 'the 408' });
      await waitFor(() => refused.reply().startsWith('HTTP/1.1 429'), { message: 'the 429' });
      await waitFor(async () => (await connections(server)) === 0, {
        timeoutMs: ANSWER_LINGER_MS + 2_000,
        message: 'the 408 connection closed by the server',
      });
      await waitFor(async () => (await connections(refusing)) === 0, {
        timeoutMs: ANSWER_LINGER_MS + 2_000,
        message: 'the 429 connection closed by the server',
      });
      silent.socket.destroy();
      refused.socket.destroy();
    } finally {
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  it('strips the query (and its token) from paths', () => {
    expect(pathOf('/ws?token=secret')).toBe('/ws');
    expect(pathOf('/healthz')).toBe('/healthz');
    expect(pathOf(undefined)).toBe('');
  });
});
