import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_HISTORY_MAX_LENGTH, DEFAULT_HISTORY_TTL_SECONDS } from '@huleedu/notify';
import { DEFAULT_CHANNEL_PREFIX, historyKeys, userChannel } from '@huleedu/ws-protocol';
import type { ChainableCommander, Redis } from 'ioredis';
import { BenchError } from './errors.js';
import { benchRoot } from './paths.js';

/**
 * The durable publish as any backend language runs it: `@huleedu/notify`'s shipped Lua script,
 * loaded once with SCRIPT LOAD and called with EVALSHA. The bench uses the script, not notify's
 * TypeScript API, because the script (keys, arguments, reply) is the contract every publisher
 * shares.
 */
export const publishScriptPath = resolve(benchRoot, 'node_modules/@huleedu/notify/lua/publish.lua');

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
    source = readFileSync(publishScriptPath, 'utf8');
  } catch (error) {
    throw new BenchError(
      'publish_failed',
      `cannot read the durable publish script ${publishScriptPath}: ${(error as Error).message}`,
    );
  }
  const sha = String(await redis.script('LOAD', source));
  const epochPrefix = randomBytes(6).toString('base64url');
  let epochs = 0;
  const length = String(retention.length);
  const ttl = String(retention.ttlSeconds);
  return {
    sha,
    retention,
    append(pipeline, userId, envelopeJson) {
      const keys = historyKeys(userId, channelPrefix);
      const epoch = `${epochPrefix}${(epochs++).toString(36)}`;
      pipeline.evalsha(
        sha,
        2,
        keys.stream,
        keys.meta,
        userChannel(userId, channelPrefix),
        envelopeJson,
        'classic',
        length,
        ttl,
        epoch,
      );
    },
  };
}

/** Reads the script's reply `[position, epoch, receivers, duplicate]`; throws on anything else. */
export function readPublishReply(reply: unknown): PublishReply {
  if (Array.isArray(reply) && reply.length >= 3) {
    const [position, epoch, receivers] = reply as [unknown, unknown, unknown];
    if (
      typeof position === 'number' &&
      typeof epoch === 'string' &&
      typeof receivers === 'number'
    ) {
      return { position, epoch, receivers };
    }
  }
  throw new BenchError(
    'publish_failed',
    `the durable publish script answered ${JSON.stringify(reply)}, expected [position, epoch, receivers, duplicate]`,
  );
}
