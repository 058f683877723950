import { readFileSync } from 'node:fs';
import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { serviceV8Flags } from '@huleedu/websocket-service';
import { userChannel } from '@huleedu/ws-protocol';
import { Emitter } from '@socket.io/redis-emitter';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { benchEnvelope, benchEnvelopeJson, benchUserId, readSentAt } from '../src/message.js';
import { createPublisher } from '../src/publisher.js';
import { readControl, readPositioned } from '../src/resume-tracking.js';
import { type RunningTarget, startTarget, targetProfiles } from '../src/targets.js';

// The baselines must do the work the service does (check the token, deliver to the right
// user), or the comparison would flatter them.
const secret = 'targets-test-secret-0123456789abcdef';
let redis: RedisHandle;
let publisher: Redis;

beforeAll(async () => {
  redis = await startRedis();
  publisher = new Redis(redis.url);
});

afterAll(async () => {
  publisher.disconnect();
  await redis.stop();
});

function openWs(url: string, token: string): Promise<{ socket?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url}?token=${token}`);
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    socket.once('error', () => resolve({}));
  });
}

describe('reference relay', () => {
  let relay: RunningTarget;
  beforeAll(async () => {
    relay = await startTarget('relay', {
      redisUrl: redis.url,
      secret,
      maxConnectionsPerUser: 5,
      serviceEntry: '',
    });
  });
  afterAll(() => relay.stop());

  it('refuses a token signed with another secret before the upgrade', async () => {
    const bad = signToken('u1', { secret: 'another-secret' });
    expect((await openWs(relay.url, bad)).status).toBe(401);
    const expired = signToken('u1', { secret, expiresInSeconds: -60 });
    expect((await openWs(relay.url, expired)).status).toBe(401);
  });

  it("delivers a message published on a user's channel to that user's sockets only", async () => {
    const alice = await openWs(relay.url, signToken('alice', { secret }));
    const bob = await openWs(relay.url, signToken('bob', { secret }));
    const received: string[] = [];
    alice.socket!.on('message', (data) => received.push(`alice:${String(data)}`));
    bob.socket!.on('message', (data) => received.push(`bob:${String(data)}`));
    const subscribers = async (user: string): Promise<number> =>
      Number(((await publisher.call('PUBSUB', 'NUMSUB', userChannel(user))) as unknown[])[1]);
    await waitFor(
      async () => (await subscribers('alice')) === 1 && (await subscribers('bob')) === 1,
    );
    const forAlice = benchEnvelopeJson(1, 1000.5);
    const forBob = benchEnvelopeJson(2, 2000.5);
    await publisher.publish(userChannel('alice'), forAlice);
    await publisher.publish(userChannel('bob'), forBob);
    await waitFor(() => received.length >= 2);
    expect(received.sort()).toEqual([`alice:${forAlice}`, `bob:${forBob}`]);
    alice.socket!.close();
    bob.socket!.close();
  });

  it('reports its memory and CPU from /proc', () => {
    expect(relay.rssBytes()).toBeGreaterThan(10 * 2 ** 20);
    expect(relay.cpuSeconds()).toBeGreaterThanOrEqual(0);
  });
});

describe('reference relay, durable publishes', () => {
  it('is the same relay process, forwarding the positioned message the publish script sends', async () => {
    const relay = await startTarget('relay-durable', {
      redisUrl: redis.url,
      secret,
      maxConnectionsPerUser: 5,
      serviceEntry: '',
    });
    const durable = createPublisher(relay.profile.publish, redis.url);
    try {
      expect(relay.profile).toMatchObject({ server: 'relay', publish: 'durable' });
      expect(readFileSync(`/proc/${relay.pid()}/cmdline`, 'utf8')).toContain('relay.js');
      const user = benchUserId(7);
      const { socket } = await openWs(relay.url, signToken(user, { secret }));
      const frames: Buffer[] = [];
      socket!.on('message', (data: Buffer) => frames.push(data));
      await waitFor(
        async () =>
          Number(
            ((await publisher.call('PUBSUB', 'NUMSUB', userChannel(user))) as unknown[])[1],
          ) === 1,
      );
      const sent = await durable.burst(2, [7]);
      await waitFor(() => frames.length >= 2);
      // What the load generator reads off each frame: the position first, the send time last.
      const epoch = durable.positions().get(7)!.epoch;
      expect(frames.map((frame) => readPositioned(frame))).toEqual([
        { position: 1, epoch },
        { position: 2, epoch },
      ]);
      for (const frame of frames) {
        const sentAt = readSentAt(frame)!;
        expect(sentAt).toBeGreaterThanOrEqual(sent.startedAt - 1);
        expect(sentAt).toBeLessThanOrEqual(sent.finishedAt + 1);
      }
      socket!.close();
    } finally {
      await durable.close();
      await relay.stop();
    }
  });
});

describe('Socket.IO server', () => {
  let server: RunningTarget;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    server = await startTarget('socketio', {
      redisUrl: redis.url,
      secret,
      maxConnectionsPerUser: 5,
      serviceEntry: '',
    });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await server.stop();
  });

  function connect(token: string): Promise<{ socket: Socket; error?: string }> {
    const socket = io(server.url, {
      transports: ['websocket'],
      auth: { token },
      forceNew: true,
      reconnection: false,
    });
    sockets.push(socket);
    return new Promise((resolve) => {
      socket.once('connect', () => resolve({ socket }));
      socket.once('connect_error', (error) => resolve({ socket, error: error.message }));
    });
  }

  it('refuses a bad token in the handshake', async () => {
    const result = await connect(signToken('u1', { secret: 'another-secret' }));
    expect(result.error).toBe('unauthorized');
  });

  it("delivers an emitter message to the user's room only", async () => {
    const alice = await connect(signToken('alice', { secret }));
    const bob = await connect(signToken('bob', { secret }));
    const received: string[] = [];
    type Env = { data: { bench_seq: number } };
    alice.socket.on('notification', (env: Env) => received.push(`alice:${env.data.bench_seq}`));
    bob.socket.on('notification', (env: Env) => received.push(`bob:${env.data.bench_seq}`));
    await waitFor(async () => Number(await publisher.call('PUBSUB', 'NUMPAT')) > 0);
    const emitter = new Emitter(publisher);
    emitter.to(userChannel('alice')).emit('notification', benchEnvelope(1, 1000));
    emitter.to(userChannel('bob')).emit('notification', benchEnvelope(2, 2000));
    await waitFor(() => received.length >= 2);
    expect(received.sort()).toEqual(['alice:1', 'bob:2']);
  });
});

describe('service', () => {
  const argvOf = (target: RunningTarget) =>
    readFileSync(`/proc/${target.pid()}/cmdline`, 'utf8').split('\0');
  const start = () =>
    startTarget('service', {
      redisUrl: redis.url,
      secret,
      maxConnectionsPerUser: 5,
      serviceEntry: '',
    });

  it('fails with what to do when the service entry is not built, rather than leaving it out', async () => {
    await expect(
      startTarget('service', {
        redisUrl: redis.url,
        secret,
        maxConnectionsPerUser: 5,
        serviceEntry: '/nonexistent/dist/main.js',
      }),
    ).rejects.toThrow(
      'the service is not built (/nonexistent/dist/main.js is missing): run pnpm build, or leave it out with --targets relay,socketio',
    );
  });

  it('runs with the V8 flags it ships with, as in its image', async () => {
    const service = await start();
    try {
      expect(argvOf(service)).toEqual(expect.arrayContaining([...serviceV8Flags]));
    } finally {
      await service.stop();
    }
  });

  it('leaves a flag set in NODE_OPTIONS to NODE_OPTIONS (every target gets the same)', async () => {
    const saved = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = '--max-semi-space-size=16';
    const service = await start().finally(() => {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    });
    try {
      expect(argvOf(service).filter((arg) => arg.startsWith('--max-semi-space-size'))).toEqual([]);
    } finally {
      await service.stop();
    }
  });

  it("takes one target's own flags: on its command line in place of its shipped one, and its NODE_OPTIONS", async () => {
    const service = await startTarget('service', {
      redisUrl: redis.url,
      secret,
      maxConnectionsPerUser: 5,
      serviceEntry: '',
      execArgv: ['--max-semi-space-size=16', '--single-threaded-gc'],
      nodeOptions: '--max-old-space-size=512',
    });
    try {
      const argv = argvOf(service);
      expect(argv.filter((arg) => arg.startsWith('--max-semi-space-size'))).toEqual([
        '--max-semi-space-size=16',
      ]);
      expect(argv).toContain('--single-threaded-gc');
      const environment = readFileSync(`/proc/${service.pid()}/environ`, 'utf8').split('\0');
      expect(environment).toContain('NODE_OPTIONS=--max-old-space-size=512');
    } finally {
      await service.stop();
    }
  });
});

describe('service, shipped defaults', () => {
  it('runs the service without WEBSOCKET_HISTORY (history on), sends ws.synced on connect and forwards a plain PUBLISH unpositioned', async () => {
    expect(targetProfiles['service-default']).toMatchObject({
      server: 'service',
      publish: 'plain',
    });
    expect(targetProfiles['service-default'].history).toBeUndefined();
    const service = await startTarget('service-default', {
      redisUrl: redis.url,
      secret,
      maxConnectionsPerUser: 5,
      serviceEntry: '',
    });
    try {
      const environment = readFileSync(`/proc/${service.pid()}/environ`, 'utf8').split('\0');
      expect(environment.filter((line) => line.startsWith('WEBSOCKET_HISTORY='))).toEqual([]);
      const user = benchUserId(11);
      const frames: Buffer[] = [];
      const socket = new WebSocket(`${service.url}?token=${signToken(user, { secret })}`);
      socket.on('message', (data: Buffer) => frames.push(data));
      await waitFor(() => frames.some((frame) => readControl(frame)?.event === 'ws.synced'));
      await waitFor(
        async () =>
          Number(((await publisher.call('PUBSUB', 'NUMSUB', userChannel(user))) as unknown[])[1]) >=
          1,
      );
      const sent = benchEnvelopeJson(1, 1234.5);
      await publisher.publish(userChannel(user), sent);
      await waitFor(() => frames.some((frame) => readSentAt(frame) !== undefined));
      const notification = frames.find((frame) => readSentAt(frame) !== undefined)!;
      expect(readSentAt(notification)).toBe(1234.5);
      expect(readPositioned(notification)).toBeUndefined();
      // The control frame is no notification: only the published one counts as a delivery.
      expect(frames.filter((frame) => readSentAt(frame) !== undefined)).toHaveLength(1);
      socket.close();
    } finally {
      await service.stop();
    }
  });
});
