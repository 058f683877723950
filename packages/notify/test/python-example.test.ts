// examples/publish.py, the README's Python publisher, run with python3 and redis-py against a real
// redis-server: what it publishes is what a TypeScript backend would, and a browser would take it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { historyKeys, parseEnvelope, validateNotification } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifier } from '../src/index.js';
import { type RecordingSubscriber, recordingSubscriber } from './subscriber.js';

const example = fileURLToPath(new URL('../examples/publish.py', import.meta.url));

/**
 * A python3 that can `import redis`: $PYTHON, then Debian's /usr/bin/python3 (where the
 * python3-redis package installs; a pyenv shim first on PATH may not have it), then python3.
 */
function findPython(): string {
  const candidates = [process.env['PYTHON'], '/usr/bin/python3', 'python3'].filter(
    (candidate): candidate is string => Boolean(candidate),
  );
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-c', 'import redis'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
  }
  throw new Error(
    `no python3 with redis-py among ${candidates.join(', ')}: install it (Debian: apt-get install -y python3-redis; or pip install redis), or set PYTHON; scripts/test.sh installs it in CI`,
  );
}

interface Published {
  id: string;
  position: number;
  epoch: string;
  receivers: number;
  duplicate: boolean;
}

let python: string;
let redis: RedisHandle;
let subscriber: RecordingSubscriber;

function runExample(...args: string[]): Published {
  const run = spawnSync(python, [example, '--redis', redis.url, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout) as Published;
}

beforeAll(async () => {
  python = findPython();
  redis = await startRedis();
  subscriber = await recordingSubscriber(redis.url);
});

afterAll(async () => {
  await subscriber?.close();
  await redis?.stop();
});

describe('examples/publish.py', () => {
  it('publishes a positioned catalogue notification that a subscriber receives and a client accepts', async () => {
    await subscriber.subscribe('ws:py-teacher');
    const result = runExample('--user', 'py-teacher', '--batch-id', 'py-1');
    expect(result).toEqual({
      id: expect.any(String),
      position: 1,
      epoch: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
      receivers: 1,
      duplicate: false,
    });

    const received = await waitFor(() => subscriber.messages[0], { message: 'the live message' });
    const message = JSON.parse(received.message);
    expect(message).toMatchObject({
      position: 1,
      epoch: result.epoch,
      event: 'batch_results_ready',
      id: result.id,
      data: { batch_id: 'py-1', results_count: 3, category: 'processing_results' },
    });
    // What @huleedu/ws-client does with a frame: parse the envelope, check the catalogue data.
    const parsed = parseEnvelope(received.message);
    expect(parsed.ok && validateNotification(parsed.envelope)).toMatchObject({ ok: true });
    // Stored as published, for replay.
    const admin = new Redis(redis.url);
    try {
      const entries = await admin.xrange(historyKeys('py-teacher').stream, '-', '+');
      expect(entries).toEqual([['1-0', ['m', received.message]]]);
    } finally {
      admin.disconnect();
    }
  });

  it('retries safely with an idempotency key, interchangeably with @huleedu/notify', async () => {
    const first = runExample('--user', 'py-retry', '--idempotency-key', 'batch-9:results');
    const retry = runExample('--user', 'py-retry', '--idempotency-key', 'batch-9:results');
    expect(first).toMatchObject({ position: 1, duplicate: false });
    expect(retry).toEqual({ ...first, receivers: 0, duplicate: true });
    // A TypeScript backend retrying the same key finds it too, and names the same message id.
    const notifier = createNotifier({ redis: redis.url });
    try {
      const fromTs = await notifier.publish(
        'py-retry',
        'x',
        {},
        { idempotencyKey: 'batch-9:results' },
      );
      expect(fromTs).toEqual({ ...first, receivers: 0, duplicate: true });
    } finally {
      await notifier.close();
    }
  });

  it('SPUBLISHes with --mode sharded', async () => {
    const sharded = await recordingSubscriber(redis.url);
    try {
      await sharded.ssubscribe('ws:py-sharded');
      expect(runExample('--user', 'py-sharded', '--mode', 'sharded')).toMatchObject({
        position: 1,
        receivers: 1,
      });
      await waitFor(() => sharded.messages.length === 1, { message: 'the sharded message' });
    } finally {
      await sharded.close();
    }
  });
});
