import type { AddressInfo } from 'node:net';
import { createTokenVerifier, signToken } from '@huleedu/auth';
import { waitFor } from '@huleedu/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createHandshakeAuth } from '../src/auth.js';
import type { ClientSocket } from '../src/client-socket.js';
import { checkReadiness } from '../src/health.js';
import { ServiceMetrics } from '../src/metrics.js';
import { ConnectionRegistry } from '../src/registry.js';
import { createHttpServer } from '../src/server.js';
import { Sessions } from '../src/sessions.js';
import { captureLogger, closeOf, textFrames } from './helpers.js';

const secret = 'sessions-test-secret-0123456789abcdef';
let teardown: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of teardown.reverse()) await step();
  teardown = [];
});

/** Sessions behind the real HTTP server, with an in-memory channel count in place of Redis. */
async function start(
  options: { maxPerUser?: number; maxPayloadBytes?: number; origins?: string[] } = {},
) {
  const log = captureLogger();
  const registry = new ConnectionRegistry<ClientSocket>(options.maxPerUser ?? 5);
  const refs = new Map<string, number>();
  const channels = {
    retain: (u: string) => refs.set(u, (refs.get(u) ?? 0) + 1),
    release: (u: string) => {
      const n = (refs.get(u) ?? 0) - 1;
      if (n <= 0) refs.delete(u);
      else refs.set(u, n);
    },
  };
  const metrics = new ServiceMetrics(
    {
      connections: () => registry.size,
      users: () => registry.userCount,
      redisConnected: () => true,
      subscribedChannels: () => refs.size,
      draining: () => sessions.draining,
    },
    { defaultMetrics: false },
  );
  const admitted: ClientSocket[] = [];
  const sessions: Sessions = new Sessions({
    auth: createHandshakeAuth({
      verifier: createTokenVerifier({ secret }),
      logger: log.logger,
      ...(options.origins ? { allowedOrigins: options.origins } : {}),
    }),
    registry,
    channels,
    metrics,
    logger: log.logger,
    maxPayloadBytes: options.maxPayloadBytes ?? 4096,
    clockToleranceMs: 0,
    onAdmitted: (socket) => admitted.push(socket),
  });
  const server = createHttpServer({
    upgrade: (req, socket, head) => sessions.handleUpgrade(req, socket, head),
    readiness: () =>
      checkReadiness({ redisConnected: () => true, draining: () => sessions.draining }),
    metrics: () => metrics.render(),
    logger: log.logger,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const clients: WebSocket[] = [];
  teardown.push(async () => {
    for (const c of clients) c.terminate();
    for (const s of registry.allSockets()) s.terminate();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const connect = (token: string | null, headers: Record<string, string> = {}) => {
    const url =
      token === null ? `ws://127.0.0.1:${port}/ws` : `ws://127.0.0.1:${port}/ws?token=${token}`;
    const client = new WebSocket(url, { headers });
    clients.push(client);
    const frames = textFrames(client);
    const closed = closeOf(client);
    const opened = new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    return { client, frames, closed, opened };
  };
  return { sessions, registry, refs, metrics, admitted, connect, log };
}

const token = (userId: string, expiresInSeconds = 600) =>
  signToken(userId, { secret, expiresInSeconds });

describe('Sessions', () => {
  it('admits a valid token into the registry and retains the user channel once per socket', async () => {
    const { connect, registry, refs, admitted } = await start();
    const a = connect(token('teacher-1'));
    const b = connect(token('teacher-1'));
    await Promise.all([a.opened, b.opened]);
    await waitFor(() => registry.size === 2, { message: 'both admitted' });
    expect(refs.get('teacher-1')).toBe(2);
    expect(admitted.map((s) => s.userId)).toEqual(['teacher-1', 'teacher-1']);
    expect(admitted[0]?.expiresAt).toBeGreaterThan(Date.now());

    a.client.close();
    await a.closed;
    await waitFor(() => registry.size === 1, { message: 'one removed' });
    expect(refs.get('teacher-1')).toBe(1);
    b.client.close();
    await waitFor(() => registry.size === 0 && !refs.has('teacher-1'), { message: 'all removed' });
  });

  it('upgrades, then closes a bad handshake with 1008 and the reason, before anything else', async () => {
    const { connect, registry, metrics } = await start();
    const missing = connect(null);
    await missing.opened;
    expect(await missing.closed).toEqual({ code: 1008, reason: 'token_missing' });
    const expired = connect(token('u', -30));
    expect(await expired.closed).toEqual({ code: 1008, reason: 'token_expired' });
    expect(missing.frames).toEqual([]);
    expect(registry.size).toBe(0);
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_connections_rejected_total{reason="token_missing"} 1');
  });

  it('refuses browsers from origins outside the list', async () => {
    const { connect } = await start({ origins: ['https://app.huleedu.com'] });
    const bad = connect(token('u'), { Origin: 'https://evil.example' });
    expect(await bad.closed).toEqual({ code: 1008, reason: 'origin_not_allowed' });
    const good = connect(token('u'), { Origin: 'https://app.huleedu.com' });
    await good.opened;
    const tool = connect(token('u'));
    await tool.opened;
  });

  it('closes the socket beyond the per-user limit with 4000, leaving the others and other users alone', async () => {
    const { connect, registry } = await start({ maxPerUser: 2 });
    const first = connect(token('u'));
    const second = connect(token('u'));
    await Promise.all([first.opened, second.opened]);
    const third = connect(token('u'));
    expect(await third.closed).toEqual({ code: 4000, reason: 'connection_limit' });
    const otherUser = connect(token('v'));
    await otherUser.opened;
    await waitFor(() => registry.size === 3, { message: 'three admitted' });
    expect(first.client.readyState).toBe(WebSocket.OPEN);
  });

  it('answers the text frame "ping" with "pong" and ignores other frames', async () => {
    const { connect, metrics } = await start();
    const c = connect(token('u'));
    await c.opened;
    c.client.send('hello');
    c.client.send(Buffer.from([1, 2, 3]));
    c.client.send('ping');
    await waitFor(() => c.frames.length === 1, { message: 'pong' });
    expect(c.frames).toEqual(['pong']);
    expect(metrics.heartbeatFrames).toBe(1);
    expect(metrics.ignoredFrames).toBe(2);
  });

  it('closes with 1009 when a frame exceeds the payload limit', async () => {
    const { connect, registry } = await start({ maxPayloadBytes: 64 });
    const c = connect(token('u'));
    await c.opened;
    c.client.send('x'.repeat(65));
    expect((await c.closed).code).toBe(1009);
    await waitFor(() => registry.size === 0, { message: 'removed' });
  });

  it('closes an expired socket with 1008 token_expired', async () => {
    const { connect, admitted, sessions } = await start();
    const c = connect(token('u'));
    await c.opened;
    await waitFor(() => admitted.length === 1, { message: 'admitted' });
    sessions.closeExpired(admitted[0]!);
    expect(await c.closed).toEqual({ code: 1008, reason: 'token_expired' });
  });

  it('drains: every socket gets 1001 server_shutdown and new handshakes are refused the same way', async () => {
    const { connect, sessions, registry } = await start();
    const a = connect(token('u1'));
    const b = connect(token('u2'));
    await Promise.all([a.opened, b.opened]);
    await waitFor(() => registry.size === 2, { message: 'admitted' });
    await sessions.drain(5_000);
    expect(await a.closed).toEqual({ code: 1001, reason: 'server_shutdown' });
    expect(await b.closed).toEqual({ code: 1001, reason: 'server_shutdown' });
    expect(registry.size).toBe(0);
    const late = connect(token('u3'));
    expect(await late.closed).toEqual({ code: 1001, reason: 'server_shutdown' });
  });

  it('terminates sockets that do not finish the close handshake within the grace period', async () => {
    const { connect, sessions, registry } = await start();
    const c = connect(token('u'));
    await c.opened;
    await waitFor(() => registry.size === 1, { message: 'admitted' });
    // A peer that never answers our close frame: stop reading from the socket.
    (c.client as unknown as { _socket: { pause(): void } })._socket.pause();
    await sessions.drain(200);
    await waitFor(() => registry.size === 0, { message: 'terminated after grace' });
  });
});
