import { randomBytes } from 'node:crypto';
import { DEFAULT_HISTORY_MAX_LENGTH, DEFAULT_HISTORY_TTL_SECONDS } from '@huleedu/notify';
import {
  durablePublishArguments,
  durablePublishResult,
  durablePublishScript,
} from '@huleedu/test-support';
import { DEFAULT_CHANNEL_PREFIX } from '@huleedu/ws-protocol';
import type { ChainableCommander, Redis } from 'ioredis';
import { BenchError } from './errors.js';
import { benchRoot } from './paths.js';

// The durable publish as any backend language runs it: `@huleedu/notify`'s shipped Lua script
// (found by package name), loaded once with SCRIPT LOAD and called with EVALSHA. The bench uses
// the script, not notify's TypeScript API, because the script (keys, arguments, reply) is the
// contract every publisher shares.

/** How much history the script keeps per user: ARGV[4] (entries) and ARGV[5] (seconds). */
export interface HistoryRetention {
  /** Entries kept per user (exact MAXLEN). */
  length: number;
  /** Seconds a user's history lives after its last message. */
  ttlSeconds: number;
}

/**
 * The retention the bench measures with unless told otherwise: `@huleedu/notify`'s defaults, so
 * the memory figures are those of a deployment that changes nothing.
 */
export const DEFAULT_RETENTION: HistoryRetention = {
  length: DEFAULT_HISTORY_MAX_LENGTH,
  ttlSeconds: DEFAULT_HISTORY_TTL_SECONDS,
};

/** What the script answered for one message. */
export interface PublishReply {
  position: number;
  epoch: string;
  /** Subscribers that received it live. */
  receivers: number;
}

/** The loaded script, ready to be queued on pipelines. */
export interface PublishScript {
  readonly sha: string;
  readonly retention: HistoryRetention;
  /** Queues one durable publish of `envelopeJson` to `userId` on `pipeline` (EVALSHA). */
  append(pipeline: ChainableCommander, userId: string, envelopeJson: string): void;
}

/**
 * Loads the script into Redis (SCRIPT LOAD) and returns a publisher of it. Each call supplies a
 * fresh epoch (used only when a user has no history yet): a per-process random prefix and a
 * counter, so no two histories ever share one and no message pays for a random draw.
 */
export async function loadPublishScript(
  redis: Redis,
  retention: HistoryRetention = DEFAULT_RETENTION,
  channelPrefix: string = DEFAULT_CHANNEL_PREFIX,
): Promise<PublishScript> {
  let source: string;
  try {
    source = durablePublishScript(benchRoot).source;
  } catch (error) {
    throw new BenchError(
      'publish_failed',
      `cannot read the durable publish script: ${(error as Error).message}`,
    );
  }
  const sha = String(await redis.script('LOAD', source));
  const epochPrefix = randomBytes(6).toString('base64url');
  let epochs = 0;
  const options = {
    prefix: channelPrefix,
    historyLength: retention.length,
    historyTtlSeconds: retention.ttlSeconds,
  };
  return {
    sha,
    retention,
    append(pipeline, userId, envelopeJson) {
      const epoch = `${epochPrefix}${(epochs++).toString(36)}`;
      pipeline.evalsha(
        sha,
        ...durablePublishArguments(userId, envelopeJson, { ...options, epoch }),
      );
    },
  };
}

/** Reads the script's reply `[position, epoch, receivers, duplicate]`; throws on anything else. */
export function readPublishReply(reply: unknown): PublishReply {
  try {
    const { position, epoch, receivers } = durablePublishResult(reply);
    return { position, epoch, receivers };
  } catch (error) {
    throw new BenchError('publish_failed', (error as Error).message);
  }
}
