import { request } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { waitFor } from '@huleedu/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpConnectionCap, type TcpDropReason } from '../src/limits/tcp-connection-cap.js';
import { createHttpServer } from '../src/server.js';
import { captureLogger } from './helpers.js';

let teardown: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const step of teardown.reverse()) await step();
  teardown = [];
});

/** The real HTTP server with a cap of `max`; upgrades are held open without an answer (busy). */
async function start(max: number) {
  const drops: TcpDropReason[] = [];
  const cap = new TcpConnectionCap({ maxConnections: max, onDrop: (reason) => drops.push(reason) });
  const held: Duplex[] = [];
  const server = createHttpServer({
    upgrade: (_request, socket) => held.push(socket),
    readiness: () => ({ ready: true, reasons: [] }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    logger: captureLogger().logger,
    requestTimeoutMs: 60_000,
  });
  cap.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const sockets: Socket[] = [];
  teardown.push(async () => {
    for (const socket of [...sockets, ...held]) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  /** A raw connection that sends `bytes` (nothing: idle); `closed` resolves when the server ends it. */
  const open = (bytes = '') => {
    const socket = connect(port, '127.0.0.1', () => {
      if (bytes !== '') socket.write(bytes);
    });
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.resume(); // read (and drop) answers, so the server's FIN is seen
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    return { socket, closed };
  };
  const health = () =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  return { cap, drops, open, health };
}

const UPGRADE =
  'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

describe('TcpConnectionCap', () => {
  it('at the cap, lets a health probe in by closing the oldest idle connection', async () => {
    const { cap, drops, open, health } = await start(4);
    const idle = [open(), open(), open(), open()];
    await waitFor(() => cap.open === 4, { message: 'four idle connections counted' });
    expect(await health()).toBe(200);
    await idle[0]!.closed;
    expect(drops).toEqual(['idle_evicted']);
    expect(idle.slice(1).every(({ socket }) => !socket.destroyed)).toBe(true);
    // Each new connection churns through the idle ones, never beyond the cap.
    for (let i = 0; i < 3; i++) expect(await health()).toBe(200);
    expect(cap.open).toBeLessThanOrEqual(4);
  });

  it('never evicts a busy connection: with all of them busy, the newcomer is closed', async () => {
    const { cap, drops, open } = await start(2);
    open(UPGRADE);
    open(UPGRADE);
    await waitFor(() => cap.open === 2, { message: 'two upgrades counted' });
    // Upgrades in flight are no longer idle; give the server a moment to have parsed them.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const late = open();
    await late.closed;
    expect(drops).toEqual(['capacity']);
    expect(cap.open).toBe(2);
  });

  it('counts a keep-alive connection as idle again between requests, and forgets closed ones', async () => {
    const { cap, drops, open, health } = await start(2);
    const keepAlive = open('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const busy = open(UPGRADE);
    await waitFor(() => cap.open === 2, { message: 'both counted' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await health()).toBe(200);
    await keepAlive.closed;
    expect(drops).toEqual(['idle_evicted']);
    busy.socket.destroy();
    await waitFor(() => cap.open <= 1, { message: 'closed connections uncounted' });
  });

  it('refuses an unusable cap', () => {
    expect(() => new TcpConnectionCap({ maxConnections: 0 })).toThrow('positive integer');
  });
});
