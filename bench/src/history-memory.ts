import { HISTORY_ENTRY_FIELD, historyKeys } from '@huleedu/ws-protocol';
import type { Redis } from 'ioredis';
import { BenchError } from './errors.js';
import { benchUserId } from './message.js';
import type { HistoryRetention } from './publish-script.js';
import { createPublisher } from './publisher.js';

/** Redis memory of one user's history after a number of bench notifications. */
export interface HistoryMemory {
  /** Messages published to each user. */
  entries: number;
  /** Entries the stream held (fewer than `entries` when the retention length is smaller). */
  held: number;
  /** Users measured (the figures are their mean). */
  users: number;
  /** `MEMORY USAGE` of the stream plus the meta hash, bytes. */
  bytesPerUser: number;
  streamBytes: number;
  metaBytes: number;
  /** Size of one stored message (the published JSON with its position and epoch), bytes. */
  messageBytes: number;
}

async function memoryUsage(redis: Redis, key: string): Promise<number> {
  // SAMPLES 0: every node of the stream, not an estimate from the first few.
  const bytes = await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
  if (typeof bytes !== 'number') {
    throw new BenchError('publish_failed', `MEMORY USAGE ${key} found no key`);
  }
  return bytes;
}

/**
 * For each count in `entryCounts`, empties Redis, publishes that many bench notifications to each
 * of `users` users through the durable publish script (with `retention`), and reads `MEMORY
 * USAGE` of every user's stream and meta keys. Redis must be the bench's own: it is flushed.
 */
export async function measureHistoryMemory(
  redis: Redis,
  redisUrl: string,
  entryCounts: readonly number[],
  users: number,
  retention: HistoryRetention,
): Promise<HistoryMemory[]> {
  const userIndexes = Array.from({ length: users }, (_, i) => i);
  const results: HistoryMemory[] = [];
  for (const entries of entryCounts) {
    await redis.flushall();
    const publisher = createPublisher('durable', redisUrl, { retention });
    try {
      await publisher.burst(entries * users, userIndexes);
    } finally {
      await publisher.close();
    }
    let stream = 0;
    let meta = 0;
    let held = Number.POSITIVE_INFINITY;
    for (const user of userIndexes) {
      const keys = historyKeys(benchUserId(user));
      stream += await memoryUsage(redis, keys.stream);
      meta += await memoryUsage(redis, keys.meta);
      held = Math.min(held, await redis.xlen(keys.stream));
    }
    const [first] = await redis.xrange(historyKeys(benchUserId(0)).stream, '-', '+', 'COUNT', 1);
    const fields = first?.[1] ?? [];
    const at = fields.indexOf(HISTORY_ENTRY_FIELD);
    const message = at >= 0 ? (fields[at + 1] ?? '') : '';
    results.push({
      entries,
      held,
      users,
      bytesPerUser: (stream + meta) / users,
      streamBytes: stream / users,
      metaBytes: meta / users,
      messageBytes: Buffer.byteLength(message),
    });
  }
  await redis.flushall();
  return results;
}
