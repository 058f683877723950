import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyKeys, idempotencyKey, userChannel } from '@huleedu/ws-protocol';
import type { Cluster, Redis } from 'ioredis';
import { type ControlMessage, controlMessageOf, type TestClient } from './harness.js';

/**
 * The durable publish as any backend runs it: `packages/notify/lua/publish.lua` through raw
 * EVALSHA (EVAL when Redis does not know the script yet), no `@huleedu/notify` code. Tests use it
 * to publish positioned messages exactly as the contract says.
 */
export const PUBLISH_LUA = readFileSync(
  join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    '..',
    '..',
    'packages',
    'notify',
    'lua',
    'publish.lua',
  ),
  'utf8',
);
/** The script's SHA1, its name for EVALSHA. */
export const PUBLISH_SHA = createHash('sha1').update(PUBLISH_LUA).digest('hex');

/** Options of {@link publishPositioned}. */
export interface PublishOptions {
  /** `classic` (PUBLISH, the default), `sharded` (SPUBLISH) or `both`. */
  readonly mode?: 'classic' | 'sharded' | 'both';
  /** Entries kept in the user's history (default 1000). */
  readonly length?: number;
  /** Seconds the history lives after its last message (default 3600). */
  readonly ttlSeconds?: number;
  /** Channel prefix (default `ws`). */
  readonly prefix?: string;
  /** This publish's idempotency key (KEYS[3]): a retry with the same key publishes nothing. */
  readonly idempotencyKey?: string;
  /** Seconds the idempotency key is remembered (default 3600). */
  readonly idempotencyTtlSeconds?: number;
}

/**
 * What the script returned: the message's position, the history's epoch, live receivers, and
 * whether the idempotency key had been used already (then nothing was published now).
 */
export interface Published {
  readonly position: number;
  readonly epoch: string;
  readonly receivers: number;
  readonly duplicate: boolean;
}

/** Publishes `envelope` for `userId` durably (history + live) with the shared Lua script. */
export async function publishPositioned(
  redis: Redis | Cluster,
  userId: string,
  envelope: { event: string; data: Record<string, unknown> },
  options: PublishOptions = {},
): Promise<Published> {
  const args = publishArguments(userId, envelope, options);
  let reply: PublishReply;
  try {
    reply = (await redis.evalsha(PUBLISH_SHA, ...args)) as PublishReply;
  } catch (error) {
    if (!String((error as Error).message).includes('NOSCRIPT')) throw error;
    reply = (await redis.eval(PUBLISH_LUA, ...args)) as PublishReply;
  }
  return publishedOf(reply);
}

/** The script's reply: position, epoch, receivers, duplicate (1 or 0). */
export type PublishReply = [number, string, number, number];

/** EVALSHA's (or EVAL's) arguments after the script: the key count, the keys, then ARGV. */
export function publishArguments(
  userId: string,
  envelope: { event: string; data: Record<string, unknown> },
  options: PublishOptions = {},
): [number, ...(string | number)[]] {
  const prefix = options.prefix ?? 'ws';
  const { stream, meta } = historyKeys(userId, prefix);
  const idem = options.idempotencyKey;
  return [
    ...(idem === undefined
      ? [2, stream, meta]
      : [3, stream, meta, idempotencyKey(userId, idem, prefix)]),
    userChannel(userId, prefix),
    JSON.stringify(envelope),
    options.mode ?? 'classic',
    options.length ?? 1000,
    options.ttlSeconds ?? 3600,
    randomBytes(9).toString('base64url'),
    ...(idem === undefined ? [] : [options.idempotencyTtlSeconds ?? 3600]),
  ] as [number, ...(string | number)[]];
}

/** The script's reply as a {@link Published}. */
export function publishedOf(reply: PublishReply): Published {
  return {
    position: Number(reply[0]),
    epoch: String(reply[1]),
    receivers: Number(reply[2]),
    duplicate: Number(reply[3]) === 1,
  };
}

/** Publishes `count` numbered messages (`data.n`) for a user, one after another. */
export async function publishNumbered(
  redis: Redis | Cluster,
  userId: string,
  count: number,
  options: PublishOptions & { from?: number } = {},
): Promise<Published[]> {
  const published: Published[] = [];
  const from = options.from ?? 1;
  for (let n = from; n < from + count; n++) {
    published.push(
      await publishPositioned(redis, userId, { event: 'numbered', data: { n } }, options),
    );
  }
  return published;
}

/** `ws://…/ws?token=…` with resume parameters appended. */
export function resumeUrl(
  base: string,
  params: { position?: number | string; epoch?: string | null; recent?: number | string },
): string {
  const query = new URLSearchParams();
  if (params.position !== undefined) query.set('position', String(params.position));
  if (params.epoch !== undefined && params.epoch !== null) query.set('epoch', params.epoch);
  if (params.recent !== undefined) query.set('recent', String(params.recent));
  return `${base}&${query.toString()}`;
}

/** The positions of the positioned notifications a client received, in order. */
export function positionsOf(client: TestClient): number[] {
  const positions: number[] = [];
  for (const frame of client.frames) {
    if (!frame.startsWith('{')) continue;
    const position = (JSON.parse(frame) as { position?: unknown }).position;
    if (typeof position === 'number') positions.push(position);
  }
  return positions;
}

/** The last control message a client received, or undefined. */
export function lastControl(client: TestClient): ControlMessage | undefined {
  return client.controls[client.controls.length - 1];
}

/**
 * What a client received, as a short sequence for order assertions: `5` for the notification at
 * position 5, `synced:8` / `resync:<reason>:8` for control messages, the raw text otherwise.
 */
export function timeline(client: TestClient): string[] {
  return client.all.map((text) => {
    const control = controlMessageOf(text);
    if (control !== undefined) {
      const data = control.data as { position: number; reason?: string };
      return control.event === 'ws.synced'
        ? `synced:${data.position}`
        : `resync:${data.reason}:${data.position}`;
    }
    if (text.startsWith('{')) {
      const position = (JSON.parse(text) as { position?: unknown }).position;
      if (typeof position === 'number') return String(position);
    }
    return text;
  });
}

/** `[from, from+1, …, to]`. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
