// The durable publish the way another language runs it: lua/publish.lua loaded with
// `redis-cli SCRIPT LOAD` and run with `redis-cli EVALSHA`, no @huleedu/notify code at all. What
// the README's "Raw protocol" section promises is checked here, against a real redis-server.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordingSubscriber, recordingSubscriber } from './subscriber.js';

const scriptPath = fileURLToPath(new URL('../lua/publish.lua', import.meta.url));
const envelope = '{"event":"batch_results_ready","data":{"batch_id":"b1"},"id":"m-1"}';

let redis: RedisHandle;
let subscriber: RecordingSubscriber;
let sha: string;

/** Runs redis-cli against the test server; resolves with its output lines (an error reply is one line). */
function cli(...args: (string | number)[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(redis.port), ...args.map(String)],
      { timeout: 10_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`redis-cli ${args[0]} failed: ${error.message}\n${stderr}`));
        else resolve(stdout.trimEnd().split('\n'));
      },
    );
  });
}

/** KEYS and ARGV as the README documents them, for user `u` with prefix `ws`. */
function publishArgs(
  user: string,
  options: {
    body?: string;
    mode?: string;
    length?: number | string;
    ttl?: number | string;
    epoch?: string;
  } = {},
  idempotency?: { key: string; ttl: number | string },
): (string | number)[] {
  const tag = `{ws:${user}}`;
  const keys = [`${tag}:history`, `${tag}:meta`];
  if (idempotency) keys.push(`${tag}:idem:${idempotency.key}`);
  const argv = [
    `ws:${user}`,
    options.body ?? envelope,
    options.mode ?? 'classic',
    options.length ?? 100,
    options.ttl ?? 3600,
    options.epoch ?? 'Epoch-1',
  ];
  if (idempotency) argv.push(idempotency.ttl);
  return [keys.length, ...keys, ...argv];
}

const lengthRefused =
  'ERR huleedu publish: history length must be a whole number from 1 to 999999999999999';
const ttlRefused =
  'ERR huleedu publish: history TTL must be a whole number of seconds from 1 to 999999999999999';

function live(user: string): string[] {
  return subscriber.messages.filter((m) => m.channel === `ws:${user}`).map((m) => m.message);
}

beforeAll(async () => {
  redis = await startRedis();
  subscriber = await recordingSubscriber(redis.url);
  const source = await readFile(scriptPath, 'utf8');
  [sha] = (await cli('SCRIPT', 'LOAD', source)) as [string];
  // The SHA any language can compute from the shipped file, without asking Redis.
  expect(sha).toBe(createHash('sha1').update(source).digest('hex'));
});

afterAll(async () => {
  await subscriber?.close();
  await redis?.stop();
});

describe('lua/publish.lua run with redis-cli EVALSHA', () => {
  it('stores the message at position 1 of the given epoch, publishes the same bytes, returns {position, epoch, receivers, duplicate}', async () => {
    await subscriber.subscribe('ws:raw-1');
    expect(await cli('EVALSHA', sha, ...publishArgs('raw-1'))).toEqual(['1', 'Epoch-1', '1', '0']);

    const [entryId, field, positioned] = await cli('XRANGE', '{ws:raw-1}:history', '-', '+');
    expect([entryId, field]).toEqual(['1-0', 'm']);
    // Redis's own clock, in whole milliseconds, right after the epoch.
    const [seconds, micros] = await cli('TIME');
    const stamped = /^\{"position":1,"epoch":"Epoch-1","published_ms":(\d+),/.exec(
      positioned ?? '',
    );
    expect(stamped).not.toBeNull();
    const publishedMs = Number(stamped?.[1]);
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    expect(publishedMs).toBeLessThanOrEqual(nowMs);
    expect(publishedMs).toBeGreaterThan(nowMs - 60_000);
    expect(positioned).toBe(
      `{"position":1,"epoch":"Epoch-1","published_ms":${publishedMs},${envelope.slice(1)}`,
    );
    expect(await cli('HGETALL', '{ws:raw-1}:meta')).toEqual(['epoch', 'Epoch-1', 'top', '1']);
    for (const key of ['{ws:raw-1}:history', '{ws:raw-1}:meta']) {
      const [ttl] = await cli('TTL', key);
      expect(Number(ttl)).toBeGreaterThan(3500);
    }
    await waitFor(() => live('raw-1').length === 1, { message: 'the live message' });
    expect(live('raw-1')).toEqual([positioned]);
  });

  it('keeps the history’s epoch: the new-epoch argument only counts for a user without history', async () => {
    expect(await cli('EVALSHA', sha, ...publishArgs('raw-1', { epoch: 'Other' }))).toEqual([
      '2',
      'Epoch-1',
      '1',
      '0',
    ]);
    await cli('DEL', '{ws:raw-1}:meta');
    // History lost (here by hand; in life: expired, or Redis lost its data): a new epoch from 1.
    expect(await cli('EVALSHA', sha, ...publishArgs('raw-1', { epoch: 'Other' }))).toEqual([
      '1',
      'Other',
      '1',
      '0',
    ]);
    expect(await cli('XLEN', '{ws:raw-1}:history')).toEqual(['1']);
  });

  it('trims to the history length', async () => {
    for (let i = 0; i < 5; i++) await cli('EVALSHA', sha, ...publishArgs('raw-2', { length: 2 }));
    const entries = await cli('XRANGE', '{ws:raw-2}:history', '-', '+');
    expect(entries.filter((line) => /^\d+-0$/.test(line))).toEqual(['4-0', '5-0']);
  });

  it('publishes once per idempotency key and answers a retry with the first position', async () => {
    await subscriber.subscribe('ws:raw-3');
    const idem = { key: 'job-7', ttl: 600 };
    expect(await cli('EVALSHA', sha, ...publishArgs('raw-3', {}, idem))).toEqual([
      '1',
      'Epoch-1',
      '1',
      '0',
    ]);
    expect(await cli('EVALSHA', sha, ...publishArgs('raw-3', {}, idem))).toEqual([
      '1',
      'Epoch-1',
      '0',
      '1',
    ]);
    expect(await cli('GET', '{ws:raw-3}:idem:job-7')).toEqual(['1:Epoch-1']);
    expect(Number((await cli('TTL', '{ws:raw-3}:idem:job-7'))[0])).toBeGreaterThan(500);
    expect(await cli('XLEN', '{ws:raw-3}:history')).toEqual(['1']);
    // A probe after the retry arrives second: the retry itself published nothing.
    await cli('EVALSHA', sha, ...publishArgs('raw-3', { body: '{"event":"probe","data":{}}' }));
    await waitFor(() => live('raw-3').length === 2, { message: 'the first message and the probe' });
    expect(live('raw-3').map((m) => JSON.parse(m).event)).toEqual(['batch_results_ready', 'probe']);
  });

  it('SPUBLISHes in sharded mode, to SSUBSCRIBErs only', async () => {
    const sharded = await recordingSubscriber(redis.url);
    try {
      await sharded.ssubscribe('ws:raw-4');
      await subscriber.subscribe('ws:raw-4');
      expect(await cli('EVALSHA', sha, ...publishArgs('raw-4', { mode: 'sharded' }))).toEqual([
        '1',
        'Epoch-1',
        '1',
        '0',
      ]);
      await waitFor(() => sharded.messages.length === 1, { message: 'the sharded message' });
      expect(live('raw-4')).toEqual([]);
    } finally {
      await sharded.close();
    }
  });

  it.each([
    [{ mode: 'fanout' }, undefined, 'ERR huleedu publish: mode must be classic, sharded or both'],
    [{ length: 0 }, undefined, lengthRefused],
    // Values Redis itself would refuse after the position was taken (MAXLEN, EXPIRE).
    [{ length: '1e30' }, undefined, lengthRefused],
    [{ length: '10000000000000000000' }, undefined, lengthRefused],
    [{ length: '0100' }, undefined, lengthRefused],
    [{ ttl: 1.5 }, undefined, ttlRefused],
    [{ ttl: '99999999999999999' }, undefined, ttlRefused],
    [{ ttl: '-1' }, undefined, ttlRefused],
    [
      { body: '{"position":9,"event":"x","data":{}}' },
      undefined,
      'ERR huleedu publish: the envelope must not carry "position" (the script sets it)',
    ],
    [
      { body: '{"event":"x","data":{},"epoch":"Forged"}' },
      undefined,
      'ERR huleedu publish: the envelope must not carry "epoch" (the script sets it)',
    ],
    [
      { body: '{"event":"x","data":{},"published_ms":1}' },
      undefined,
      'ERR huleedu publish: the envelope must not carry "published_ms" (the script sets it)',
    ],
    [
      { body: '{"event":"ws.resync","data":{"reason":"history_lost","position":0,"epoch":null}}' },
      undefined,
      'ERR huleedu publish: events starting with "ws." are reserved for the service',
    ],
    [
      { body: '{"event":"x","data":{' },
      undefined,
      'ERR huleedu publish: the envelope must be a JSON object with fields',
    ],
    [
      { body: '["not","an","object"]' },
      undefined,
      'ERR huleedu publish: the envelope must be a JSON object with fields',
    ],
    [
      { epoch: 'has space' },
      undefined,
      'ERR huleedu publish: new epoch must match [A-Za-z0-9_-]{1,64}',
    ],
    [
      {},
      { key: 'k', ttl: '' as const },
      'ERR huleedu publish: idempotency TTL must be a whole number of seconds from 1 to 999999999999999',
    ],
    [
      {},
      { key: 'k', ttl: '1e400' as const },
      'ERR huleedu publish: idempotency TTL must be a whole number of seconds from 1 to 999999999999999',
    ],
  ])(
    'refuses %j %j with an error reply, writing and publishing nothing',
    async (options, idem, reply) => {
      await subscriber.subscribe('ws:raw-bad');
      expect(await cli('EVALSHA', sha, ...publishArgs('raw-bad', options, idem))).toEqual([reply]);
      expect(
        await cli('EXISTS', '{ws:raw-bad}:history', '{ws:raw-bad}:meta', '{ws:raw-bad}:idem:k'),
      ).toEqual(['0']);
      // Published nothing either: the next good publish is the first message on the channel.
      expect(await cli('EVALSHA', sha, ...publishArgs('raw-bad'))).toEqual([
        '1',
        'Epoch-1',
        '1',
        '0',
      ]);
      await waitFor(() => live('raw-bad').length === 1, { message: 'the good message' });
      await cli('DEL', '{ws:raw-bad}:history', '{ws:raw-bad}:meta');
      subscriber.messages.length = 0;
    },
  );

  it('answers NOSCRIPT to EVALSHA on a server that has not loaded it (then EVAL it)', async () => {
    await cli('SCRIPT', 'FLUSH');
    const [reply] = await cli('EVALSHA', sha, ...publishArgs('raw-5'));
    expect(reply).toMatch(/^NOSCRIPT/);
    const source = await readFile(scriptPath, 'utf8');
    expect(await cli('EVAL', source, ...publishArgs('raw-5'))).toEqual(['1', 'Epoch-1', '0', '0']);
    // EVAL cached it: EVALSHA works again.
    expect(await cli('EVALSHA', sha, ...publishArgs('raw-5'))).toEqual(['2', 'Epoch-1', '0', '0']);
  });
});
