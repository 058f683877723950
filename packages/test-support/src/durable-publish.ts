import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { historyKeys, userChannel } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';

// The one durable publish of the delivery guarantee, run as any language would run it: EVAL of
// the script file with the keys and arguments its header documents. Paths: this file is
// dist/durable-publish.js of packages/test-support.
const script = readFileSync(new URL('../../notify/lua/publish.lua', import.meta.url), 'utf8');

/** What one durable publish did: the message's position, the history's epoch, live receivers. */
export interface DurablePublishResult {
  position: number;
  epoch: string;
  receivers: number;
}

/** Publishes envelopes durably to users' histories (see {@link createDurablePublisher}). */
export interface DurablePublisher {
  /**
   * Appends `envelope` (`{event, data, ...}`) to `userId`'s history and publishes it live with its
   * position and epoch, in one step.
   */
  publish(userId: string, envelope: object): Promise<DurablePublishResult>;
  close(): Promise<void>;
}

/** Options of {@link createDurablePublisher}; the defaults match a service with default settings. */
export interface DurablePublisherOptions {
  /** Channel prefix; default `ws`. */
  prefix?: string;
  /** Entries kept per user; default 1000. */
  historyLength?: number;
  /** Seconds a history lives after its last message; default 86 400. */
  historyTtlSeconds?: number;
}

/**
 * A durable publisher for tests that need positioned messages without `@huleedu/notify`: it runs
 * `packages/notify/lua/publish.lua` with ioredis `EVAL` (the protocol's `historyKeys`, classic
 * PUBLISH).
 */
export function createDurablePublisher(
  redisUrl: string,
  options: DurablePublisherOptions = {},
): DurablePublisher {
  const { prefix = 'ws', historyLength = 1000, historyTtlSeconds = 86_400 } = options;
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  return {
    async publish(userId, envelope) {
      const keys = historyKeys(userId, prefix);
      const reply = (await redis.eval(
        script,
        2,
        keys.stream,
        keys.meta,
        userChannel(userId, prefix),
        JSON.stringify(envelope),
        'classic',
        historyLength,
        historyTtlSeconds,
        randomBytes(12).toString('base64url'),
      )) as [number, string, number, number];
      return { position: reply[0], epoch: reply[1], receivers: reply[2] };
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
