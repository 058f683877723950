// The memory figures behind the default retention (README, "Retention and memory"): Redis's own
// MEMORY USAGE of one user's history stream and meta hash, filled with a typical catalogue
// notification as publishUserNotification builds it. If an envelope or the script grows, this
// fails before the README's figures become untrue.
import { type RedisHandle, startRedis } from '@huleedu/test-support';
import { historyKeys, idempotencyKey } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNotifier, DEFAULT_HISTORY_MAX_LENGTH, type Notifier } from '../src/index.js';

let redis: RedisHandle;
let admin: Redis;
let notifier: Notifier;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  notifier = createNotifier({ redis: redis.url });
});

afterAll(async () => {
  await notifier?.close();
  admin?.disconnect();
  await redis?.stop();
});

/** Bytes of the user's stream plus meta, as `MEMORY USAGE <key> SAMPLES 0` reports them. */
async function historyBytes(userId: string): Promise<number> {
  const { stream, meta } = historyKeys(userId);
  const usage = async (key: string) => Number(await admin.memory('USAGE', key, 'SAMPLES', 0));
  return (await usage(stream)) + (await usage(meta));
}

it('one user at 10 and at 100 (the default cap) typical notifications', async () => {
  // A UUID user id and a batch_results_ready with every optional field, as the platform sends it.
  const user = '3f6c1a52-9d0e-4b7a-8c21-5e4d3b2a1f09';
  const publishTypical = (batch: number) =>
    notifier.publishUserNotification(
      user,
      'batch_results_ready',
      {
        batch_id: `batch-2026-11-${String(batch).padStart(4, '0')}`,
        class_id: 'class-7b',
        results_count: 28,
        message: `Results for batch ${batch} are ready`,
        download_url: `https://huleedu.example/batches/${batch}/results.zip`,
      },
      { correlationId: '6f1c2b9e-2d4a-4c7e-9a51-0b8e3f7d2c11' },
    );
  for (let i = 1; i <= 10; i++) await publishTypical(i);
  const at10 = await historyBytes(user);
  for (let i = 11; i <= DEFAULT_HISTORY_MAX_LENGTH; i++) await publishTypical(i);
  const at100 = await historyBytes(user);
  const [[, [, last]]] = (await admin.xrevrange(
    historyKeys(user).stream,
    '+',
    '-',
    'COUNT',
    1,
  )) as [[string, [string, string]]];
  console.log(
    `history memory per user: ${at10} bytes at 10 entries, ${at100} at 100 (messages of ${Buffer.byteLength(last)} bytes)`,
  );
  await notifier.publish(user, 'x', {}, { idempotencyKey: 'batch-2026-11-0042:results' });
  const idemBytes = Number(
    await admin.memory('USAGE', idempotencyKey(user, 'batch-2026-11-0042:results'), 'SAMPLES', 0),
  );
  console.log(`an idempotency key: ${idemBytes} bytes`);
  expect(idemBytes).toBeLessThan(200);
  // README: about 10 KB at 10 entries and 70 KB at 100; this keeps those figures honest.
  expect(at10).toBeGreaterThan(7_000);
  expect(at10).toBeLessThan(13_000);
  expect(at100).toBeGreaterThan(55_000);
  expect(at100).toBeLessThan(85_000);
});
