import type { IncomingMessage } from 'node:http';
import { type AddressInfo, connect as connectTcp, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createTokenVerifier, signToken } from '@huleedu/auth';
import { waitFor } from '@huleedu/test-support';
import { refreshTokenFrame, tokenSubprotocols } from '@huleedu/ws-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createHandshakeAuth } from '../src/auth.js';
import type { ClientSocket } from '../src/client-socket.js';
import { checkReadiness } from '../src/health.js';
import { ConnectionBudget } from '../src/limits/connection-budget.js';
import type { InboundBudget } from '../src/limits/inbound-budget.js';
import { ServiceMetrics } from '../src/metrics.js';
import { RateLimitedLog } from '../src/rate-limited-log.js';
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
  options: {
    maxPerUser?: number;
    maxPayloadBytes?: number;
    maxBufferedBytes?: number;
    inboundBudget?: InboundBudget;
    origins?: string[];
    revokedBefore?: (userId: string) => Promise<number | undefined>;
    budget?: ConnectionBudget;
    /** Accept tokens without `iat` (judged as issued at `exp` less a day). */
    allowMissingIat?: boolean;
    /** Sees every upgrade request before the sessions do. */
    onUpgradeRequest?: (request: IncomingMessage) => void;
  } = {},
) {
  const log = captureLogger();
  const dropLog = new RateLimitedLog({ logger: log.logger, linesPerInterval: 3, intervalMs: 500 });
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
      logLinesSuppressed: () => dropLog.suppressedTotal,
    },
    { defaultMetrics: false },
  );
  const admitted: ClientSocket[] = [];
  const refreshed: ClientSocket[] = [];
  const sessions: Sessions = new Sessions({
    auth: createHandshakeAuth({
      verifier: createTokenVerifier({ secret, allowMissingIat: options.allowMissingIat ?? false }),
      logger: log.logger,
      ...(options.origins ? { allowedOrigins: options.origins } : {}),
    }),
    registry,
    channels,
    metrics,
    logger: log.logger,
    maxPayloadBytes: options.maxPayloadBytes ?? 4096,
    maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
    ...(options.inboundBudget === undefined ? {} : { inboundBudget: options.inboundBudget }),
    dropLog,
    clockToleranceMs: 0,
    onAdmitted: (socket) => admitted.push(socket),
    onRefreshed: (socket) => refreshed.push(socket),
    ...(options.revokedBefore === undefined ? {} : { revokedBefore: options.revokedBefore }),
    ...(options.budget === undefined ? {} : { budget: options.budget }),
  });
  const server = createHttpServer({
    upgrade: (req, socket, head) => {
      options.onUpgradeRequest?.(req);
      sessions.handleUpgrade(req, socket, head);
    },
    readiness: () =>
      checkReadiness({ redisConnected: () => true, draining: () => sessions.draining }),
    metrics: () => metrics.render(),
    logger: log.logger,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const clients: WebSocket[] = [];
  teardown.push(async () => {
    dropLog.close();
    for (const c of clients) c.terminate();
    for (const s of registry.allSockets()) s.terminate();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const connect = (
    token: string | null,
    headers: Record<string, string> = {},
    protocols: string[] = [],
  ) => {
    const url =
      token === null ? `ws://127.0.0.1:${port}/ws` : `ws://127.0.0.1:${port}/ws?token=${token}`;
    const client = new WebSocket(url, protocols, { headers });
    clients.push(client);
    const frames = textFrames(client);
    const closed = closeOf(client);
    const opened = new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    return { client, frames, closed, opened };
  };
  return { sessions, registry, refs, metrics, admitted, refreshed, connect, log, port };
}

/** Opens a TCP connection and sends a WebSocket handshake for `token` by hand. */
function sendHandshake(port: number, token: string, key = 'dGhlIHNhbXBsZSBub25jZQ=='): Socket {
  const socket = connectTcp(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(
    `GET /ws?token=${token} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n` +
      `Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
  );
  return socket;
}

const token = (userId: string, expiresInSeconds = 600) =>
  signToken(userId, { secret, expiresInSeconds });

/** A token issued at `iat` (epoch seconds), valid for ten minutes from now. */
const tokenIssuedAt = (userId: string, iat: number) =>
  signToken(userId, { secret, claims: { iat, exp: Math.floor(Date.now() / 1000) + 600 } });

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

  it('logs each refused handshake at info with its reason and client address, never the token, at a bounded rate', async () => {
    const { connect, log } = await start();
    const bad = token('u', -30);
    for (let i = 0; i < 5; i++) {
      const expired = connect(bad);
      await expired.closed;
    }
    const refused = log.lines.filter((line) => line.msg === 'refused a handshake');
    // linesPerInterval is 3 in these tests: the other two are counted, not written.
    expect(refused).toHaveLength(3);
    expect(refused[0]).toMatchObject({
      level: 'info',
      reason: 'token_expired',
      code: 1008,
      address: '127.0.0.1',
    });
    expect(log.text()).not.toContain(bad);
    expect(log.text()).not.toContain(bad.split('.')[2]!);
  });

  it('times every handshake from the upgrade request to its outcome', async () => {
    const { connect, metrics } = await start();
    const admitted = connect(token('teacher-1'));
    await admitted.opened;
    const refused = connect(null);
    await refused.closed;
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_handshake_duration_seconds_count{outcome="admitted"} 1');
    expect(body).toContain('huleedu_ws_handshake_duration_seconds_count{outcome="refused"} 1');
    expect(body).toContain(
      'huleedu_ws_handshake_duration_seconds_bucket{le="+Inf",outcome="admitted"} 1',
    );
  });

  it('refuses browsers from origins outside the list', async () => {
    const { connect, registry } = await start({ origins: ['https://app.huleedu.com'] });
    const bad = connect(token('u'), { Origin: 'https://evil.example' });
    expect(await bad.closed).toEqual({ code: 1008, reason: 'origin_not_allowed' });
    const good = connect(token('u'), { Origin: 'https://app.huleedu.com' });
    const tool = connect(token('u'));
    // Admitted, not only upgraded (a refusal closes with 1008 after the upgrade).
    await waitFor(() => registry.size === 2, { message: 'both allowed sockets admitted' });
    expect(good.client.readyState).toBe(WebSocket.OPEN);
    expect(tool.client.readyState).toBe(WebSocket.OPEN);
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

/** Sends `frame` until `done()` or `max` frames, yielding to the event loop between batches. */
async function flood(client: WebSocket, send: () => void, max: number, done: () => boolean) {
  let sent = 0;
  while (sent < max && !done() && client.readyState === WebSocket.OPEN) {
    for (let i = 0; i < 500; i++) send();
    sent += 500;
    // Let the client's own buffer drain into the kernel so this process stays small too.
    await new Promise((resolve) => setTimeout(resolve, client.bufferedAmount > 1 << 20 ? 5 : 0));
  }
  return sent;
}

describe('Sessions: inbound traffic is bounded per socket', () => {
  it('closes a socket that floods text pings with 1013 rate_limited, counted and logged', async () => {
    const { connect, registry, metrics, log } = await start({
      inboundBudget: { burst: 5, perSecond: 1 },
    });
    const c = connect(token('flooder'));
    await c.opened;
    for (let i = 0; i < 50; i++) c.client.send('ping');
    expect(await c.closed).toEqual({ code: 1013, reason: 'rate_limited' });
    // The burst was answered, nothing after it.
    expect(c.frames).toEqual(['pong', 'pong', 'pong', 'pong', 'pong']);
    await waitFor(() => registry.size === 0, { message: 'removed' });
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_server_closes_total{reason="rate_limited"} 1');
    expect(log.lines.filter((l) => l.kind === 'rate_limited')).toMatchObject([
      { level: 'warn', userId: 'flooder', burst: 5, perSecond: 1 },
    ]);
  });

  it('logs many flooders at a bounded rate, then says how many lines it left out', async () => {
    const { connect, metrics, log } = await start({ inboundBudget: { burst: 2, perSecond: 1 } });
    const flooders = Array.from({ length: 8 }, (_, i) => connect(token(`flooder-${i}`)));
    await Promise.all(flooders.map((f) => f.opened));
    for (const f of flooders) for (let i = 0; i < 10; i++) f.client.send('ping');
    for (const f of flooders) expect((await f.closed).code).toBe(1013);
    const written = (l: Record<string, unknown>) => l.kind === 'rate_limited' && !l.suppressed;
    expect(log.lines.filter(written)).toHaveLength(3);
    await waitFor(() => log.lines.some((l) => l.suppressed === 5), { message: 'summary line' });
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_server_closes_total{reason="rate_limited"} 8');
    expect(body).toContain('huleedu_ws_log_lines_suppressed_total 5');
  });

  it('never limits a client that keeps to its budget', async () => {
    const { connect } = await start({ inboundBudget: { burst: 2, perSecond: 20 } });
    const c = connect(token('honest'));
    await c.opened;
    // 12 pings at 10 a second: more than the burst, within the rate.
    for (let i = 0; i < 12; i++) {
      c.client.send('ping');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitFor(() => c.frames.length === 12, { message: 'twelve pongs' });
    expect(c.client.readyState).toBe(WebSocket.OPEN);
  });

  it('answers protocol pings itself, within the same budget', async () => {
    const { connect, metrics } = await start({ inboundBudget: { burst: 3, perSecond: 1 } });
    const c = connect(token('pinger'));
    await c.opened;
    const pongs: string[] = [];
    c.client.on('pong', (data) => pongs.push(String(data)));
    c.client.ping('a');
    await waitFor(() => pongs.length === 1, { message: 'protocol pong' });
    expect(pongs).toEqual(['a']);
    for (let i = 0; i < 20; i++) c.client.ping('b');
    expect(await c.closed).toEqual({ code: 1013, reason: 'rate_limited' });
    expect(pongs.length).toBeLessThanOrEqual(3);
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_server_closes_total{reason="rate_limited"} 1');
  });

  it('drops a socket that sends pings but never reads the pongs, once replies exceed the buffer limit', async () => {
    // A budget that never trips, so only the outbound-buffer limit can stop this client.
    const limit = 64 * 1024;
    const { connect, admitted, registry, metrics, log } = await start({
      inboundBudget: { burst: 1e9, perSecond: 1e9 },
      maxBufferedBytes: limit,
    });
    const c = connect(token('never-reads'));
    await c.opened;
    await waitFor(() => admitted.length === 1, { message: 'admitted' });
    const server = admitted[0]!;
    let protocolPings = 0;
    server.on('ping', () => protocolPings++);
    c.client.pause(); // read nothing: replies fill the kernel's buffers, then the service's

    // Fast fill: 125-byte protocol pings (127-byte pongs) until the kernel holds no more and the
    // service starts queueing, with every ping handled, so nothing is in flight at the switch.
    const payload = Buffer.alloc(125, 1);
    let sent = 0;
    while (server.bufferedAmount === 0 && sent < 500_000) {
      for (let i = 0; i < 200; i++) c.client.ping(payload);
      sent += 200;
      await waitFor(() => protocolPings === sent, { intervalMs: 1, message: 'pings handled' });
    }
    expect(server.bufferedAmount).toBeGreaterThan(0);
    expect(server.bufferedAmount).toBeLessThan(limit);

    // The attack of issue 10: text pings whose pongs are never read.
    let peak = 0;
    const pings = await flood(
      c.client,
      () => {
        c.client.send('ping');
        peak = Math.max(peak, server.bufferedAmount);
      },
      1_000_000,
      () => server.readyState === WebSocket.CLOSED,
    );
    await waitFor(() => registry.size === 0, { message: 'slow reader dropped' });
    expect(protocolPings).toBe(sent); // so a text pong met the limit
    expect(pings).toBeLessThan(1_000_000);
    // Bounded by the limit plus one pong, however much the client sent.
    expect(peak).toBeLessThanOrEqual(limit + 6);
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_server_closes_total{reason="slow_consumer"} 1');
    expect(log.lines.filter((l) => l.kind === 'slow_consumer')).toMatchObject([
      { level: 'warn', userId: 'never-reads', limit },
    ]);
  });

  it('applies the buffer limit to protocol pongs too', async () => {
    const { connect, admitted, registry, metrics } = await start({
      inboundBudget: { burst: 1e9, perSecond: 1e9 },
      maxBufferedBytes: 64 * 1024,
    });
    const c = connect(token('never-reads'));
    await c.opened;
    await waitFor(() => admitted.length === 1, { message: 'admitted' });
    const server = admitted[0]!;
    c.client.pause();
    const payload = Buffer.alloc(125, 1); // the largest control frame: 127-byte pongs
    await flood(
      c.client,
      () => c.client.ping(payload),
      1_000_000,
      () => server.readyState === WebSocket.CLOSED,
    );
    await waitFor(() => registry.size === 0, { message: 'slow reader dropped' });
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_server_closes_total{reason="slow_consumer"} 1');
  });
});

describe('Sessions: revoked tokens (disconnectUser)', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('refuses a token issued before the revocation with 1008 token_revoked, admits a fresh one', async () => {
    // One clock reading: the assertions compare against the same seconds the tokens carry.
    const clock = now();
    const revoked = new Map([['teacher-1', clock - 10]]);
    const asked: string[] = [];
    const { connect, registry, metrics, admitted } = await start({
      revokedBefore: async (userId) => {
        asked.push(userId);
        return revoked.get(userId);
      },
    });
    const old = connect(tokenIssuedAt('teacher-1', clock - 60));
    expect(await old.closed).toEqual({ code: 1008, reason: 'token_revoked' });
    const fresh = connect(tokenIssuedAt('teacher-1', clock - 10));
    await fresh.opened;
    const other = connect(tokenIssuedAt('teacher-2', clock - 60));
    await other.opened;
    await waitFor(() => registry.size === 2, { message: 'the fresh token and teacher-2 admitted' });
    expect(admitted.map((s) => [s.userId, s.issuedAt])).toEqual([
      ['teacher-1', clock - 10],
      ['teacher-2', clock - 60],
    ]);
    expect(asked).toEqual(['teacher-1', 'teacher-1', 'teacher-2']);
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_connections_rejected_total{reason="token_revoked"} 1');
  });

  it('refuses a token without iat by default, revocation or not', async () => {
    const { connect } = await start({ revokedBefore: async () => undefined });
    const noIat = signToken('teacher-1', { secret, claims: { iat: undefined } });
    expect(await connect(noIat).closed).toEqual({ code: 1008, reason: 'token_missing_iat' });
  });

  it('judges an allowed token without iat as issued at exp less the maximum lifetime', async () => {
    // Valid ten more minutes: it may have been issued up to a day (the maximum) ago.
    const noIat = signToken('teacher-1', { secret, claims: { iat: undefined } });
    const revokedJustNow = await start({
      allowMissingIat: true,
      revokedBefore: async () => now() - 10,
    });
    expect(await revokedJustNow.connect(noIat).closed).toEqual({
      code: 1008,
      reason: 'token_revoked',
    });
    // A revocation older than exp less a day cannot concern it.
    const revokedLongAgo = await start({
      allowMissingIat: true,
      revokedBefore: async () => now() - 86_400,
    });
    const tab = revokedLongAgo.connect(noIat);
    await tab.opened;
    await waitFor(() => revokedLongAgo.admitted.length === 1, { message: 'admitted' });
    expect(revokedLongAgo.admitted[0]!.issuedAt).toBeGreaterThan(now() - 86_400);
  });

  it('answers 1013 not_ready, counted and logged, when the revocation cannot be read', async () => {
    const { connect, registry, metrics, log } = await start({
      revokedBefore: () => Promise.reject(new Error('Command timed out')),
    });
    const client = connect(token('teacher-1'));
    expect(await client.closed).toEqual({ code: 1013, reason: 'not_ready' });
    expect(registry.size).toBe(0);
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_connections_rejected_total{reason="not_ready"} 1');
    expect(log.lines).toContainEqual(
      expect.objectContaining({ kind: 'revocation_unavailable', err: 'Command timed out' }),
    );
  });

  it('survives a client that resets its connection while the revocation is being read', async () => {
    let release: () => void = () => undefined;
    let read: Promise<number | undefined> | undefined;
    let serverSide: Socket | undefined;
    const { registry, port } = await start({
      onUpgradeRequest: (request) => {
        serverSide = request.socket as Socket;
      },
      revokedBefore: () => {
        read = new Promise((resolve) => {
          release = () => resolve(undefined);
        });
        return read;
      },
    });
    const socket = sendHandshake(port, token('teacher-1'));
    // The race: the read is in flight when the reset reaches the service.
    await waitFor(() => read !== undefined, { message: 'revocation read started' });
    socket.resetAndDestroy();
    await waitFor(() => serverSide?.destroyed, { message: 'the service saw the reset' });
    expect(read).toBeDefined();
    release();
    // The answer reaches the sessions (their handler was attached first) before this resumes.
    await read;
    await new Promise((resolve) => setImmediate(resolve));
    expect(registry.size).toBe(0);
  });

  it('does not ask Redis about a token that failed verification', async () => {
    let asked = 0;
    const { connect } = await start({
      revokedBefore: async () => {
        asked++;
        return undefined;
      },
    });
    expect(await connect('not-a-token').closed).toEqual({ code: 1008, reason: 'token_malformed' });
    expect(asked).toBe(0);
  });

  it('closes an admitted socket with 1008 token_revoked on request, counted', async () => {
    const { connect, sessions, admitted, metrics } = await start();
    const client = connect(token('teacher-1'));
    await client.opened;
    await waitFor(() => admitted.length === 1, { message: 'admitted' });
    sessions.closeRevoked(admitted[0]!);
    expect(await client.closed).toEqual({ code: 1008, reason: 'token_revoked' });
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_server_closes_total{reason="token_revoked"} 1');
  });
});

describe('Sessions: what an idle socket keeps', () => {
  it('keeps neither the upgrade request nor its read buffer once the socket is admitted', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const budget = new ConnectionBudget({
      maxConnections: 100,
      maxConnectionsPerAddress: 100,
      handshakes: { burst: 100, perSecond: 100 },
    });
    const requests: Array<WeakRef<IncomingMessage>> = [];
    const { connect, admitted } = await start({
      budget,
      onUpgradeRequest: (request) => requests.push(new WeakRef(request)),
    });
    const clients = [connect(token('teacher-1')), connect(token('teacher-2'))];
    for (const client of clients) await client.opened;
    await waitFor(() => admitted.length === 2, { message: 'admitted' });
    for (let round = 0; round < 5 && requests.some((r) => r.deref() !== undefined); round++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    // A request held per socket (its headers, the URL with the token, the read buffer behind
    // `head`) was 2 KiB of every idle socket's memory.
    expect(requests.map((r) => r.deref() === undefined)).toEqual([true, true]);
    expect(budget.open).toBe(2);
    for (const client of clients) client.client.close();
    await waitFor(() => budget.open === 0, { message: 'budget released on close' });
  });
});

describe('Sessions: the connection budget', () => {
  const newBudget = () =>
    new ConnectionBudget({
      maxConnections: 100,
      maxConnectionsPerAddress: 100,
      handshakes: { burst: 100, perSecond: 100 },
    });

  it('gives back the place of admitted and refused sockets when they close, and adds no listeners of its own to an admitted socket', async () => {
    const budget = newBudget();
    const { connect, admitted } = await start({ budget, revokedBefore: async () => undefined });
    const good = connect(token('teacher-1'));
    await good.opened;
    await waitFor(() => admitted.length === 1, { message: 'admitted' });
    const refused = connect('not-a-token');
    expect(await refused.closed).toEqual({ code: 1008, reason: 'token_malformed' });
    await waitFor(() => budget.open === 1, { message: 'the refused socket gave its place back' });
    // Every event goes through the shared handlers; the TCP connection keeps ws's close listener
    // only (a third one would grow Node's listener array to 19 slots on every idle socket).
    const socket = admitted[0]!;
    expect(socket.eventNames()).toEqual([]);
    expect(socket.transport?.listenerCount('close')).toBe(1);
    good.client.close();
    await waitFor(() => budget.open === 0, { message: 'the admitted socket gave its place back' });
  });

  it('gives back the place of a connection reset while its revocation is read', async () => {
    const budget = newBudget();
    let release: () => void = () => undefined;
    const { registry, port } = await start({
      budget,
      revokedBefore: () =>
        new Promise((resolve) => {
          release = () => resolve(undefined);
        }),
    });
    const socket = sendHandshake(port, token('teacher-1'));
    await waitFor(() => budget.open === 1, { message: 'the handshake holds a place' });
    socket.resetAndDestroy();
    await waitFor(() => budget.open === 0, { message: 'the reset gave the place back' });
    release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(budget.open).toBe(0);
    expect(registry.size).toBe(0);
  });

  it('gives back the place of a handshake ws itself refuses (a malformed key)', async () => {
    const budget = newBudget();
    const { port } = await start({ budget, revokedBefore: async () => undefined });
    const socket = sendHandshake(port, token('teacher-1'), 'nope');
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      answer += chunk;
    });
    await waitFor(() => answer.startsWith('HTTP/1.1 400'), { message: 'ws answered 400' });
    await waitFor(() => budget.open === 0, {
      message: 'the refused handshake gave its place back',
    });
  });
});

describe('Sessions: refused sockets let go at once', () => {
  it('drops a refused socket whose peer never answers the close frame about a second later', async () => {
    const budget = new ConnectionBudget({
      maxConnections: 100,
      maxConnectionsPerAddress: 100,
      handshakes: { burst: 100, perSecond: 100 },
    });
    const { port } = await start({ budget });
    // A raw connection: reads the 101 and the close frame, never answers, never closes.
    const socket = sendHandshake(port, 'not-a-token');
    let received = Buffer.alloc(0);
    let ended = false;
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    socket.on('end', () => {
      ended = true;
    });
    await waitFor(() => received.includes(Buffer.from('token_malformed')), {
      message: 'the close frame with its reason',
    });
    expect(budget.open).toBe(1);
    // ws alone would keep it 5 s; the service lets go after about one.
    await waitFor(() => budget.open === 0 && ended, {
      timeoutMs: 3_000,
      message: 'the refused socket dropped and its place given back',
    });
  });
});

describe('Sessions: the token in Sec-WebSocket-Protocol', () => {
  it('admits a token from the bearer subprotocol, selects huleedu.v1 and never logs the token', async () => {
    const { connect, admitted, log } = await start();
    const bearer = token('teacher-9');
    const tab = connect(null, {}, tokenSubprotocols(bearer));
    await tab.opened;
    expect(tab.client.protocol).toBe('huleedu.v1');
    await waitFor(() => admitted.length === 1, { message: 'admitted' });
    expect(admitted[0]!.userId).toBe('teacher-9');
    expect(log.text()).not.toContain(bearer);
  });

  it('refuses a token sent both in the URL and in the header with 1008 token_malformed', async () => {
    const { connect } = await start();
    const bearer = token('teacher-9');
    const tab = connect(bearer, {}, tokenSubprotocols(bearer));
    expect(await tab.closed).toEqual({ code: 1008, reason: 'token_malformed' });
  });
});

describe('Sessions: refreshing the token in place', () => {
  /** The next text frame the client receives. */
  const nextFrame = (client: WebSocket) =>
    new Promise<string>((resolve) => client.once('message', (data) => resolve(String(data))));

  it('moves the expiry and answers ws.token_refreshed, on the same socket', async () => {
    const { connect, admitted, refreshed, metrics } = await start({
      revokedBefore: async () => undefined,
    });
    const tab = connect(token('teacher-1', 60));
    await tab.opened;
    await waitFor(() => admitted.length === 1, { message: 'admitted' });
    const socket = admitted[0]!;
    const before = socket.expiresAt;
    const fresh = token('teacher-1', 3600);
    const answer = nextFrame(tab.client);
    tab.client.send(refreshTokenFrame(fresh));
    const { event, data } = JSON.parse(await answer) as {
      event: string;
      data: { expires_at: number };
    };
    expect(event).toBe('ws.token_refreshed');
    expect(data.expires_at).toBeGreaterThan(before + 3_000_000);
    expect(socket.expiresAt).toBe(data.expires_at);
    expect(refreshed).toEqual([socket]);
    expect(tab.client.readyState).toBe(WebSocket.OPEN);
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_token_refreshes_total{outcome="refreshed"} 1');
  });

  it("closes with 1008 and the reason when the fresh token is another user's, expired or revoked", async () => {
    const revoked = new Map<string, number>();
    const { connect, admitted } = await start({
      revokedBefore: async (userId) => revoked.get(userId),
    });
    const cases: Array<[string, string]> = [
      [token('teacher-2'), 'token_subject_mismatch'],
      [token('teacher-1', -60), 'token_expired'],
      [tokenIssuedAt('teacher-1', Math.floor(Date.now() / 1000) - 120), 'token_revoked'],
    ];
    for (const [fresh, reason] of cases) {
      const tab = connect(token('teacher-1'));
      await tab.opened;
      if (reason === 'token_revoked') revoked.set('teacher-1', Math.floor(Date.now() / 1000) - 60);
      tab.client.send(refreshTokenFrame(fresh));
      expect(await tab.closed, reason).toEqual({ code: 1008, reason });
    }
    expect(admitted.length).toBe(3);
  });

  it('ignores other JSON frames as before', async () => {
    const { connect, metrics } = await start();
    const tab = connect(token('teacher-1'));
    await tab.opened;
    tab.client.send('{"event":"ws.refresh_token","data":{}}');
    tab.client.send('{"event":"hello"}');
    tab.client.send('ping');
    expect(await nextFrame(tab.client)).toBe('pong');
    expect(metrics.ignoredFrames).toBe(2);
    expect(tab.client.readyState).toBe(WebSocket.OPEN);
  });
});
