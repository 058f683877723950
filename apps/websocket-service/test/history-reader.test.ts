import { type RedisHandle, startRedis } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  HistoryReadError,
  HistoryReader,
  type HistorySnapshot,
  READ_BATCH_MAX_USERS,
} from '../src/history/reader.js';
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

  it('reads the users asked for in one turn with one script call each, every user its own answer', async () => {
    const users = Array.from({ length: READ_BATCH_MAX_USERS + 6 }, (_, i) => `batch-${i}`);
    const epochs: string[] = [];
    for (const [i, user] of users.entries()) {
      const published = await publishNumbered(admin, user, (i % 4) + 1);
      epochs.push(published[0]!.epoch);
    }
    const history = reader(5000);
    await history.read('warm-up', firstConnect);
    const calls = async () => {
      const stats = String(await admin.info('commandstats'));
      // ioredis sends a script's first call on a connection as EVAL, the later ones as EVALSHA.
      const calls = (name: string) =>
        Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      return calls('evalsha') + calls('eval');
    };
    const before = await calls();
    // Each user asks for something else: recent 1, a mark at position 1, or nothing.
    const snapshots = await Promise.all(
      users.map((user, i) =>
        history.read(user, {
          limit: 100,
          recent: i % 3 === 0 ? 1 : 0,
          marks: i % 3 === 1 ? [1, epochs[i]!] : [],
        }),
      ),
    );
    // Two calls: one full batch, and the rest.
    expect((await calls()) - before).toBe(2);
    for (const [i, snapshot] of snapshots.entries()) {
      const top = (i % 4) + 1;
      const expected =
        i % 3 === 0 ? [top] : i % 3 === 1 ? Array.from({ length: top - 1 }, (_, n) => n + 2) : [];
      expect(snapshot.epoch).toBe(epochs[i]);
      expect(snapshot.top).toBe(top);
      expect(snapshot.entries.map((entry) => entry.position)).toEqual(expected);
    }
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
