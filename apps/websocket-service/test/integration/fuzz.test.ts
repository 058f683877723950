import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  httpGet,
  rssMb,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

// A seeded, bounded fuzz run against a real service process: malformed HTTP requests, mutated
// tokens and malformed WebSocket frames, 10,000+ cases in all. The service must not crash, its
// memory must stay bounded, and a legitimate teacher must be served during and after. The seed
// is printed; FUZZ_SEED=<n> replays a run.

const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const HTTP_CASES = 4_000;
const TOKEN_CASES = 3_000;
const FRAME_CASES = 3_000;
/** Cases in flight at once, per kind. */
const CONCURRENCY = 50;
/** A case that gets no answer and no close within this is a hang. */
const CASE_TIMEOUT_MS = 15_000;

/** mulberry32: a small seeded PRNG, so a failing run can be replayed exactly. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number): number => Math.floor(next() * max);
  const bytes = (length: number): Buffer => {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = int(256);
    return out;
  };
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, bytes, pick };
}

type Random = ReturnType<typeof prng>;

/** Runs `count` cases, `CONCURRENCY` at a time. */
async function runCases(count: number, run: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await run(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Writes `bytes` on a fresh connection; resolves with what came back once the server closes. */
function exchange(port: number, bytes: Buffer, endAfterWrite: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no answer within ${CASE_TIMEOUT_MS} ms to ${JSON.stringify(bytes.toString('latin1').slice(0, 80))}`,
        ),
      );
    }, CASE_TIMEOUT_MS);
    socket.on('connect', () => {
      socket.write(bytes);
      if (endAfterWrite) socket.end();
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      // A complete HTTP answer is enough; do not wait for keep-alive to time out.
      if (Buffer.concat(chunks).includes('\r\n\r\n')) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'OPTIONS', 'CONNECT', 'G\0T', '', 'GET GET'];
const PATHS = [
  '/ws',
  '/ws?token=',
  '/healthz',
  '/readyz',
  '/metrics',
  '/',
  '*',
  '/ws/../ws',
  '%',
  '/ws?token=%ff%fe',
  `/${'a'.repeat(9000)}`,
];
const HEADERS = [
  'Host: x',
  'Connection: Upgrade',
  'Upgrade: websocket',
  'Sec-WebSocket-Version: 13',
  'Sec-WebSocket-Version: 99',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Key: !!',
  'Content-Length: 5',
  'Content-Length: -1',
  'Transfer-Encoding: chunked',
  'Origin: http://evil.example',
  `X-Long: ${'b'.repeat(20_000)}`,
  'Bad Header Line',
  ': no name',
  'Upgrade: websocket\r\nUpgrade: h2c',
];

/** One malformed (or barely valid) HTTP request. */
function httpCase(random: Random): Buffer {
  const shape = random.int(4);
  if (shape === 0) return random.bytes(1 + random.int(300));
  const line = `${random.pick(METHODS)} ${random.pick(PATHS)} ${random.pick(['HTTP/1.1', 'HTTP/1.0', 'HTTP/9', ''])}`;
  const headers = Array.from({ length: random.int(6) }, () => random.pick(HEADERS));
  let text = `${line}\r\n${headers.join('\r\n')}\r\n\r\n`;
  if (shape === 2) text = text.slice(0, random.int(text.length)); // cut short
  if (shape === 3) text += random.bytes(random.int(64)).toString('latin1');
  return Buffer.from(text, 'latin1');
}

/** A token mutated from a valid one, or made up: it must never be admitted. */
function tokenCase(random: Random, valid: string): string {
  const [header = '', payload = '', signature = ''] = valid.split('.');
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  switch (random.int(8)) {
    case 0: {
      // Not the last two characters: their low bits may be padding, the same signature.
      const chars = [...valid];
      const at = random.int(chars.length - 2);
      chars[at] = chars[at] === 'A' ? 'B' : 'A';
      return chars.join('');
    }
    case 1:
      return `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    case 2:
      return `${b64({ alg: random.pick(['HS512', 'RS256', 'ES256', 'none', 42, null]) })}.${payload}.${signature}`;
    case 3:
      return `${header}.${b64({ sub: random.pick(['', ' ', 'a b', '{x}', 'x'.repeat(5000), null]), exp: 9_999_999_999 })}.${signature}`;
    case 4:
      return random.bytes(random.int(200)).toString('base64url');
    case 5:
      return encodeURIComponent(random.bytes(random.int(80)).toString('latin1'));
    case 6:
      return [header, payload, signature, signature].slice(0, random.pick([0, 1, 2, 4])).join('.');
    default:
      return `${header}.${payload}.${random.bytes(32).toString('base64url')}`;
  }
}

/** A client frame with random flags, opcode, mask and (possibly lying) length. */
function frameCase(random: Random): Buffer {
  const payload = random.bytes(random.int(random.next() < 0.1 ? 70_000 : 130));
  const first =
    (random.next() < 0.8 ? 0x80 : 0) | (random.next() < 0.1 ? 0x70 : 0) | random.int(16);
  const masked = random.next() < 0.9;
  let length: Buffer;
  const claimed = random.next() < 0.15 ? random.int(1 << 20) : payload.length;
  if (claimed < 126) length = Buffer.from([(masked ? 0x80 : 0) | claimed]);
  else if (claimed < 65536) {
    length = Buffer.alloc(3);
    length[0] = (masked ? 0x80 : 0) | 126;
    length.writeUInt16BE(claimed, 1);
  } else {
    length = Buffer.alloc(9);
    length[0] = (masked ? 0x80 : 0) | 127;
    length.writeBigUInt64BE(BigInt(claimed), 1);
  }
  const mask = masked ? random.bytes(4) : Buffer.alloc(0);
  if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
  return Buffer.concat([Buffer.from([first]), length, mask, payload]);
}

/**
 * Upgrades a raw connection with a valid token, sends `frames`, and resolves once the server
 * closed the connection or answered (any bytes after the 101).
 */
function frameExchange(port: number, token: string, frames: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1')
      .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    const socket: Socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let upgraded = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`frame case hung (${upgraded ? 'after' : 'before'} the upgrade)`));
    }, CASE_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    socket.on('connect', () => {
      socket.write(
        `GET /ws?token=${token} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
      );
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (!upgraded) {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = received.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101') || !head.includes(accept)) {
          clearTimeout(timer);
          reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
          return;
        }
        upgraded = true;
        received = received.subarray(end + 4);
        for (const frame of frames) socket.write(frame);
        // Give an answer (pong, close frame) a moment; a silent server is also fine.
        setTimeout(done, 200);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', done);
  });
}

let redis: RedisHandle;
let service: ServiceProcess;
let publisher: Redis;

beforeAll(async () => {
  redis = await startRedis();
  service = await startServiceProcess({
    WEBSOCKET_REDIS_URL: redis.url,
    LOG_LEVEL: 'info',
    // One client address sends every case: the per-address limits would refuse most of them
    // before they reach the code under test.
    WEBSOCKET_HANDSHAKE_BURST: '1000000',
    WEBSOCKET_HANDSHAKE_RATE_PER_SECOND: '1000000',
    WEBSOCKET_MAX_CONNECTIONS_PER_USER: '1000',
    WEBSOCKET_REQUEST_TIMEOUT_SECONDS: '0.5',
  });
  publisher = new Redis(redis.url);
  await waitUntilReady(service);
});

afterAll(async () => {
  terminateClients();
  publisher?.disconnect();
  await service?.stop();
  await redis?.stop();
});

describe(`fuzzing a real service (seed ${SEED})`, () => {
  it('survives 10,000 malformed requests, tokens and frames; a teacher is served during and after', async () => {
    const teacherToken = signToken('fuzz-teacher', { secret: SECRET, expiresInSeconds: 3600 });
    const teacher = connectClient(service.wsUrl(teacherToken));
    await teacher.opened;
    await waitFor(
      async () =>
        Number(((await publisher.pubsub('NUMSUB', 'ws:fuzz-teacher')) as [string, number])[1]) ===
        1,
      { message: 'the teacher subscribed' },
    );
    let sent = 0;
    const notify = async () => {
      sent++;
      await publisher.publish(
        'ws:fuzz-teacher',
        JSON.stringify({ event: 'fuzz_probe', data: { n: sent } }),
      );
    };
    let exited = false;
    void service.exited.then(() => {
      exited = true;
    });
    const rssBefore = rssMb(service.pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssMb(service.pid));
      void notify();
    }, 250);

    const random = prng(SEED);
    try {
      await runCases(HTTP_CASES, async () => {
        const answer = await exchange(service.port, httpCase(random), random.next() < 0.5);
        // Whatever came back is HTTP (or nothing): never a crash dump, never a 101 to garbage
        // that the token did not allow.
        if (answer.length > 0) expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.[01] \d{3}/);
      });
      const valid = signToken('fuzz-token', { secret: SECRET, expiresInSeconds: 600 });
      const tokens = Array.from({ length: TOKEN_CASES }, () => tokenCase(random, valid));
      let admitted = 0;
      await runCases(TOKEN_CASES, async (index) => {
        const tab = connectClient(service.wsUrl(tokens[index]!));
        const closed = await tab.closed;
        if (closed.code !== 1008) admitted++;
        expect(closed.code, `token ${JSON.stringify(tokens[index]!.slice(0, 60))}`).toBe(1008);
      });
      expect(admitted).toBe(0);
      const frameToken = signToken('fuzz-frames', { secret: SECRET, expiresInSeconds: 600 });
      await runCases(FRAME_CASES, async () => {
        const frames = Array.from({ length: 1 + random.int(3) }, () => frameCase(random));
        await frameExchange(service.port, frameToken, frames);
      });
    } finally {
      clearInterval(sampler);
    }

    // Alive, answering, memory bounded, and the teacher got every probe sent during the run.
    expect(exited).toBe(false);
    expect((await httpGet(service.httpUrl('/healthz'))).status).toBe(200);
    const rssAfter = rssMb(service.pid);
    console.log('fuzz figures', {
      seed: SEED,
      cases: HTTP_CASES + TOKEN_CASES + FRAME_CASES,
      rssBeforeMb: Math.round(rssBefore),
      rssPeakMb: Math.round(rssPeak),
      rssAfterMb: Math.round(rssAfter),
      probes: sent,
    });
    expect(rssPeak - rssBefore).toBeLessThan(200);
    await notify();
    await waitFor(() => teacher.frames.length === sent, {
      timeoutMs: 20_000,
      message: `the teacher to receive all ${sent} probes`,
    });
    expect(teacher.frames.map((f) => JSON.parse(f).data.n)).toEqual(
      Array.from({ length: sent }, (_, i) => i + 1),
    );
  }, 240_000);
});
