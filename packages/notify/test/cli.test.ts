import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { historyKeys } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordingSubscriber, recordingSubscriber } from './subscriber.js';

const bin = fileURLToPath(new URL('../bin/huleedu-notify.js', import.meta.url));
const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const data = '{"batch_id":"b1","results_count":3,"message":"Results ready"}';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the installed-style binary as a user would, killed if it outlives `timeoutMs`. */
function run(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Run> {
  const { WEBSOCKET_REDIS_URL: _a, REDIS_URL: _b, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...inherited, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`huleedu-notify ${args.join(' ')} still running after ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let redis: RedisHandle;
let subscriber: RecordingSubscriber;

beforeAll(async () => {
  if (!existsSync(built)) {
    throw new Error(`${built} is missing: run \`pnpm --filter @huleedu/notify build\` first`);
  }
  redis = await startRedis();
  subscriber = await recordingSubscriber(redis.url);
  await subscriber.subscribe('ws:teacher-1', 'custom:teacher-1');
});

afterAll(async () => {
  await subscriber?.close();
  await redis?.stop();
});

function events(channel: string): Record<string, unknown>[] {
  return subscriber.messages
    .filter((m) => m.channel === channel)
    .map((m) => JSON.parse(m.message) as Record<string, unknown>);
}

describe('huleedu-notify', () => {
  it('publishes a typed notification and reports its position and the receivers', async () => {
    const result = await run([
      '--redis',
      redis.url,
      '--user',
      'teacher-1',
      '--type',
      'batch_results_ready',
      '--data',
      data,
      '--priority',
      'critical',
    ]);
    const message = await waitFor(() =>
      events('ws:teacher-1').find((e) => e.event === 'batch_results_ready'),
    );
    expect(result).toEqual({
      code: 0,
      stdout: `published batch_results_ready to ws:teacher-1 at position 1 of epoch ${message.epoch} (1 receiver)\n`,
      stderr: '',
    });
    expect(message.data).toMatchObject({
      batch_id: 'b1',
      results_count: 3,
      category: 'processing_results',
      priority: 'critical',
    });
  });

  it('takes the URL from WEBSOCKET_REDIS_URL and honours --prefix and --raw-event', async () => {
    const result = await run(
      [
        '--user',
        'teacher-1',
        '--raw-event',
        'essay_annotated',
        '--data',
        '{"essay_id":"e1"}',
        '--prefix',
        'custom',
      ],
      { WEBSOCKET_REDIS_URL: redis.url, REDIS_URL: 'redis://127.0.0.1:1' },
    );
    expect(result.stdout).toMatch(
      /^published essay_annotated to custom:teacher-1 at position 1 of epoch [\w-]+ \(1 receiver\)\n$/,
    );
    expect(result.code).toBe(0);
    const message = await waitFor(() =>
      events('custom:teacher-1').find((e) => e.event === 'essay_annotated'),
    );
    expect(message.data).toEqual({ essay_id: 'e1' });
  });

  it('says 0 receivers when nobody listens', async () => {
    const result = await run([
      '--redis',
      redis.url,
      '--user',
      'nobody',
      '--type',
      'batch_results_ready',
      '--data',
      data,
    ]);
    expect(result.stdout).toMatch(/ to ws:nobody at position 1 of epoch [\w-]+ \(0 receivers\)\n$/);
  });

  it('publishes once per --idempotency-key, prints JSON with --json, and a plain PUBLISH with --no-history', async () => {
    const once = ['--redis', redis.url, '--user', 'teacher-1', '--raw-event', 'once_only'];
    const first = await run([...once, '--idempotency-key', 'k-1', '--json']);
    expect(first.code).toBe(0);
    const published = JSON.parse(first.stdout);
    expect(published).toEqual({
      id: expect.any(String),
      position: expect.any(Number),
      epoch: expect.any(String),
      receivers: 1,
      duplicate: false,
    });
    const retry = await run([...once, '--idempotency-key', 'k-1']);
    expect(retry).toEqual({
      code: 0,
      stdout: `not published: ws:teacher-1 already has the message of idempotency key "k-1", position ${published.position} of epoch ${published.epoch}\n`,
      stderr: '',
    });
    const plain = await run([...once, '--no-history', '--json']);
    expect(JSON.parse(plain.stdout)).toMatchObject({ position: null, epoch: null, receivers: 1 });
    await waitFor(
      () => events('ws:teacher-1').filter((e) => e.event === 'once_only').length === 2,
      {
        message: 'two once_only messages',
      },
    );
    // The retry published nothing: the first and the plain one arrived, in that order.
    const arrived = events('ws:teacher-1').filter((e) => e.event === 'once_only');
    expect(arrived.map((e) => e.position)).toEqual([published.position, undefined]);
  });

  it("exits 1 naming Redis's error when the script fails there", async () => {
    const admin = new Redis(redis.url);
    try {
      await admin.set(historyKeys('broken').meta, 'not a hash');
    } finally {
      admin.disconnect();
    }
    const result = await run(['--redis', redis.url, '--user', 'broken', '--raw-event', 'x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'huleedu-notify: Redis refused the durable publish (lua/publish.lua, PUBLISH) on ws:broken: WRONGTYPE',
    );
  });

  it('exits 2 naming the bad field of an invalid payload', async () => {
    const result = await run([
      '--redis',
      redis.url,
      '--user',
      'teacher-1',
      '--type',
      'batch_results_ready',
      '--data',
      '{"batch_id":"b1","results_count":"3","message":"m"}',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'huleedu-notify: batch_results_ready: data.results_count: expected a whole number >= 0, got "3"\n',
    );
    expect(result.stdout).toBe('');
  });

  it('exits 2 for bad JSON, with usage advice', async () => {
    const result = await run([
      '--user',
      'teacher-1',
      '--type',
      'batch_results_ready',
      '--data',
      "{'batch_id':1}",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('huleedu-notify: --data is not valid JSON');
    expect(result.stderr).toContain('Run huleedu-notify --help for usage.');
  });

  it('exits 2 for missing arguments', async () => {
    const result = await run(['--type', 'batch_results_ready']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--user is required');
  });

  it('exits 1 with a clear message when Redis is unreachable', async () => {
    const port = await freePort();
    const result = await run([
      '--redis',
      `redis://127.0.0.1:${port}`,
      '--user',
      'teacher-1',
      '--type',
      'batch_results_ready',
      '--data',
      data,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Redis at redis://127.0.0.1:${port}`);
    expect(result.stderr).toContain('is unavailable');
    expect(result.stderr).toContain('ECONNREFUSED');
  });

  it('prints help', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'Exit codes: 0 published (or a duplicate of an earlier publish with the same key), 1 Redis error,\n2 bad arguments',
    );
  });
});
