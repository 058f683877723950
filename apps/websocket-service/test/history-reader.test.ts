import { type RedisHandle, startRedis } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HistoryReadError, HistoryReader, type HistorySnapshot } from '../src/history/reader.js';
import { captureLogger } from './helpers.js';
import { publishNumbered } from './integration/history.js';

// The reader against a real Redis: answers, and reads that Redis does not answer in time
// (`CLIENT PAUSE` stops it answering without closing the connection).

let redis: RedisHandle;
let admin: Redis;
let readers: HistoryReader[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

afterEach(async () => {
  await admin.call('CLIENT', 'UNPAUSE');
  await Promise.all(readers.map((reader) => reader.close()));
  readers = [];
});

afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

function reader(timeoutMs: number): HistoryReader {
  const created = new HistoryReader({
    redis: { mode: 'standalone', url: redis.url },
    channelPrefix: 'ws',
    logger: captureLogger().logger,
    timeoutMs,
  });
  created.start();
  readers.push(created);
  return created;
}

const firstConnect = { limit: 100, recent: 0, marks: [] };

/** Settles `read` as what a caller sees: the snapshot, or the error's kind. */
function outcome(read: Promise<HistorySnapshot>): Promise<HistorySnapshot | string> {
  return read.then(
    (snapshot) => snapshot,
    (error: unknown) => (error instanceof HistoryReadError ? error.kind : String(error)),
  );
}

describe('HistoryReader', () => {
  it('reads the top, the epoch and the entries asked for', async () => {
    const published = await publishNumbered(admin, 'reader-user', 3);
    const history = reader(2000);
    const snapshot = await history.read('reader-user', { limit: 100, recent: 2, marks: [] });
    expect(snapshot.epoch).toBe(published[0]!.epoch);
    expect(snapshot.top).toBe(3);
    expect(snapshot.entries.map((entry) => entry.position)).toEqual([2, 3]);
    expect(await history.read('nobody', firstConnect)).toEqual({
      epoch: null,
      top: 0,
      entries: [],
    });
  });

  it('times out every read Redis does not answer in time, once each, and reads again after', async () => {
    const history = reader(150);
    await history.read('warm-up', firstConnect);
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const early = [
      outcome(history.read('a', firstConnect)),
      outcome(history.read('b', firstConnect)),
    ];
    await new Promise((resolve) => setTimeout(resolve, 60));
    const later = outcome(history.read('c', firstConnect));
    expect(await Promise.all([...early, later])).toEqual(['timeout', 'timeout', 'timeout']);
    await admin.call('CLIENT', 'UNPAUSE');
    // The answers Redis gives after the pause change nothing; new reads are answered.
    expect(await history.read('d', firstConnect)).toMatchObject({ epoch: null, top: 0 });
  });

  it('fails the reads still waiting when it is closed', async () => {
    const history = reader(5000);
    await history.read('warm-up', firstConnect);
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const waiting = outcome(history.read('a', firstConnect));
    await history.close();
    expect(await waiting).toBe('error');
  });
});
