import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  historyKeys,
  idempotencyKey,
  type PublishScriptReply,
  readPublishScriptReply,
  userChannel,
} from '@huleedu/ws-protocol';
import { type Cluster, Redis } from 'ioredis';
import { resolveFromPackage } from './resolve.js';

/** The durable publish script `@huleedu/notify` ships, as read from disk. */
export interface DurablePublishScript {
  /** Where it was read from. */
  readonly path: string;
  readonly source: string;
  /** SHA1 of the source: its name for EVALSHA. */
  readonly sha: string;
}

const scripts = new Map<string, DurablePublishScript>();

/**
 * Reads `@huleedu/notify/lua/publish.lua` (notify's exports map lists it), resolved from the
 * package in `from` (default: the working directory, the package under test, which lists
 * `@huleedu/notify` among its dependencies). Read once per path.
 */
export function durablePublishScript(from?: string): DurablePublishScript {
  const path = resolveFromPackage('@huleedu/notify/lua/publish.lua', from);
  let script = scripts.get(path);
  if (script === undefined) {
    const source = readFileSync(path, 'utf8');
    script = { path, source, sha: createHash('sha1').update(source).digest('hex') };
    scripts.set(path, script);
  }
  return script;
}

/** Options of one durable publish; the defaults match a service and notifier left at theirs. */
export interface DurablePublishOptions {
  /** `classic` (PUBLISH, the default), `sharded` (SPUBLISH) or `both`. */
  mode?: 'classic' | 'sharded' | 'both';
  /** Channel prefix (default `ws`). */
  prefix?: string;
  /** Entries kept in the user's history (default 1000). */
  historyLength?: number;
  /** Seconds the history lives after its last message (default 86 400). */
  historyTtlSeconds?: number;
  /** This publish's idempotency key (KEYS[3]): a retry with the same key publishes nothing. */
  idempotencyKey?: string;
  /** Seconds the idempotency key is remembered (default 3600). */
  idempotencyTtlSeconds?: number;
  /** The epoch a new history gets (default: 9 random bytes, base64url). */
  epoch?: string;
}

/** What one durable publish did (the script's reply, see the protocol's `PublishScriptReply`). */
export type DurablePublishResult = PublishScriptReply;

/**
 * EVALSHA's (or EVAL's) arguments after the script for publishing `envelope` (an object, or its
 * JSON text) to `userId`: the key count, the keys, then ARGV, as the script's header documents.
 */
export function durablePublishArguments(
  userId: string,
  envelope: object | string,
  options: DurablePublishOptions = {},
): [number, ...(string | number)[]] {
  const prefix = options.prefix ?? 'ws';
  const { stream, meta } = historyKeys(userId, prefix);
  const idem = options.idempotencyKey;
  const keys =
    idem === undefined ? [stream, meta] : [stream, meta, idempotencyKey(userId, idem, prefix)];
  return [
    keys.length,
    ...keys,
    userChannel(userId, prefix),
    typeof envelope === 'string' ? envelope : JSON.stringify(envelope),
    options.mode ?? 'classic',
    options.historyLength ?? 1000,
    options.historyTtlSeconds ?? 86_400,
    options.epoch ?? randomBytes(9).toString('base64url'),
    ...(idem === undefined ? [] : [options.idempotencyTtlSeconds ?? 3600]),
  ];
}

/** Reads the script's reply `[position, epoch, receivers, duplicate]`; throws on anything else. */
export function durablePublishResult(reply: unknown): DurablePublishResult {
  const parsed = readPublishScriptReply(reply);
  if (parsed !== undefined) return parsed;
  throw new Error(
    `the durable publish script answered ${JSON.stringify(reply)?.slice(0, 200)}, expected [position, epoch, receivers, duplicate]`,
  );
}

/**
 * Publishes `envelope` for `userId` durably (history and live, one step) as any language runs the
 * script: EVALSHA, and EVAL once when Redis answers NOSCRIPT (a restarted or new node).
 */
export async function publishDurably(
  redis: Redis | Cluster,
  userId: string,
  envelope: object | string,
  options: DurablePublishOptions = {},
): Promise<DurablePublishResult> {
  const script = durablePublishScript();
  const args = durablePublishArguments(userId, envelope, options);
  let reply: unknown;
  try {
    reply = await redis.evalsha(script.sha, ...args);
  } catch (error) {
    if (!String((error as Error).message).includes('NOSCRIPT')) throw error;
    reply = await redis.eval(script.source, ...args);
  }
  return durablePublishResult(reply);
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

/**
 * A durable publisher on its own connection, for tests that need positioned messages without
 * `@huleedu/notify`'s TypeScript API: {@link publishDurably} with the same options every time.
 */
export function createDurablePublisher(
  redisUrl: string,
  options: DurablePublishOptions = {},
): DurablePublisher {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  return {
    publish: (userId, envelope) => publishDurably(redis, userId, envelope, options),
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
