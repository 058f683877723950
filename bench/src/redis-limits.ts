import type { Redis } from 'ioredis';

/**
 * Raises the bench Redis's pub/sub output-buffer limit: a server that falls behind in a burst
 * must not be cut off by Redis's default 32 MB limit (the bench measures servers, not that
 * setting). Every Redis a run starts gets it.
 */
export async function allowSlowSubscribers(redis: Redis): Promise<void> {
  await redis.config('SET', 'client-output-buffer-limit', 'pubsub 512mb 256mb 120');
}
