import { historyKeys } from '@huleedu/ws-protocol';
import type { Redis } from 'ioredis';

/** The demo user's history in Redis, as far as the demo touches it. */
export interface DemoHistory {
  /**
   * Deletes the user's history (stream and meta), as a Redis restart without persistence would:
   * a client that resumes afterwards is told `ws.resync` with reason `history_lost`.
   */
  forget(): Promise<void>;
}

/** The history of `userId` (channel prefix `prefix`) in `redis`. */
export function demoHistory(redis: Redis, userId: string, prefix: string): DemoHistory {
  const keys = historyKeys(userId, prefix);
  return {
    async forget() {
      await redis.del(keys.stream, keys.meta);
    },
  };
}
