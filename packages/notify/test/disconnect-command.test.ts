import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes, parseCommand, runCommand } from '../src/command.js';
import { type RecordingSubscriber, recordingSubscriber } from './subscriber.js';

const user = ['--user', 'teacher-1'];

describe('huleedu-notify --disconnect: arguments', () => {
  it('reads whom to cut off, why and since when', () => {
    expect(
      parseCommand(
        [
          ...user,
          '--disconnect',
          '--reason',
          'password_changed',
          '--issued-before',
          '2030-01-01T00:00:00Z',
          '--max-token-lifetime',
          '3600',
          '--redis',
          'redis://127.0.0.1:7777',
        ],
        {},
      ),
    ).toEqual({
      kind: 'disconnect',
      redis: 'redis://127.0.0.1:7777',
      userId: 'teacher-1',
      prefix: 'ws',
      publishMode: 'classic',
      reason: 'password_changed',
      issuedBefore: Date.parse('2030-01-01T00:00:00Z') / 1000,
      maxTokenLifetimeSeconds: 3600,
    });
    const now = parseCommand(
      [...user, '--disconnect', '--reason', 'x', '--issued-before', 'now'],
      {},
    );
    expect(
      now.kind === 'disconnect' && Math.abs(now.issuedBefore! - Date.now() / 1000),
    ).toBeLessThan(5);
    expect(
      parseCommand([...user, '--disconnect', '--reason', 'x', '--issued-before', '1800000000'], {}),
    ).toMatchObject({ issuedBefore: 1_800_000_000 });
  });

  it.each([
    [[...user, '--disconnect'], '--disconnect needs --reason'],
    [
      [...user, '--disconnect', '--reason', 'x', '--type', 'class_created'],
      '--type does not apply',
    ],
    [[...user, '--disconnect', '--reason', 'x', '--data', '{}'], '--data does not apply'],
    [
      [...user, '--disconnect', '--reason', 'x', '--idempotency-key', 'k'],
      '--idempotency-key does',
    ],
    [[...user, '--disconnect', '--reason', 'x', '--issued-before', 'yesterday'], '--issued-before'],
    [
      [...user, '--disconnect', '--reason', 'x', '--issued-before', '2030-01-01T00:00:00'],
      'with a time zone',
    ],
    [[...user, '--disconnect', '--reason', 'x', '--max-token-lifetime', '1h'], 'whole number'],
    [
      [...user, '--type', 'class_created', '--reason', 'x'],
      '--reason only applies to --disconnect',
    ],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommand(argv, {})).toThrow(message);
  });
});

describe('huleedu-notify --disconnect against Redis', () => {
  let redis: RedisHandle;
  let subscriber: RecordingSubscriber;
  let reader: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    subscriber = await recordingSubscriber(redis.url);
    await subscriber.subscribe('ws:teacher-1');
    reader = new Redis(redis.url);
  });
  afterAll(async () => {
    reader?.disconnect();
    await subscriber?.close();
    await redis?.stop();
  });

  async function run(argv: string[]) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await runCommand(
      argv,
      {},
      {
        stdout: (line) => stdout.push(line),
        stderr: (line) => stderr.push(line),
      },
    );
    return { code, stdout, stderr };
  }

  it('publishes the command, keeps the revocation and says so', async () => {
    const result = await run([
      ...user,
      '--redis',
      redis.url,
      '--disconnect',
      '--reason',
      'logout',
      '--issued-before',
      '2026-01-01T00:00:00Z',
      '--max-token-lifetime',
      String(10 * 365 * 86_400),
    ]);
    expect(result).toEqual({
      code: exitCodes.OK,
      stdout: [
        'disconnected teacher-1 (1 service instance held a socket); tokens issued before 2026-01-01T00:00:00.000Z are refused',
      ],
      stderr: [],
    });
    expect(await reader.get('{ws:teacher-1}:revoked_before')).toBe(
      String(Date.parse('2026-01-01T00:00:00Z') / 1000),
    );
    await waitFor(() => subscriber.messages.length === 1, { message: 'the command' });
    expect(JSON.parse(subscriber.messages[0]!.message)).toEqual({
      event: 'ws.disconnect',
      data: { reason: 'logout', issued_before: Date.parse('2026-01-01T00:00:00Z') / 1000 },
    });
  });

  it('exits 2 naming a bad reason, 1 when Redis is unreachable', async () => {
    const bad = await run([...user, '--redis', redis.url, '--disconnect', '--reason', 'a b']);
    expect(bad.code).toBe(exitCodes.USAGE);
    expect(bad.stderr.join('\n')).toContain('reason must be 1 to 64');
    const down = await run([
      ...user,
      '--redis',
      'redis://127.0.0.1:1',
      '--disconnect',
      '--reason',
      'logout',
    ]);
    expect(down.code).toBe(exitCodes.REDIS_ERROR);
    expect(down.stderr.join('\n')).toContain('ECONNREFUSED');
  });
});
