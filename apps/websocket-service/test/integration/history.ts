import {
  type DurablePublishOptions,
  type DurablePublishResult,
  publishDurably,
} from '@huleedu/test-support';
import type { Cluster, Redis } from 'ioredis';
import { type ControlMessage, controlMessageOf, type TestClient } from './harness.js';

/** Options of {@link publishPositioned}. */
export interface PublishOptions
  extends Pick<
    DurablePublishOptions,
    'mode' | 'prefix' | 'idempotencyKey' | 'idempotencyTtlSeconds'
  > {
  /** Entries kept in the user's history (default 1000). */
  readonly length?: number;
  /** Seconds the history lives after its last message (default 3600). */
  readonly ttlSeconds?: number;
}

/**
 * What the script returned: the message's position, the history's epoch, live receivers, and
 * whether the idempotency key had been used already (then nothing was published now).
 */
export type Published = DurablePublishResult;

/**
 * Publishes `envelope` for `userId` durably (history + live) as any backend does: notify's
 * `lua/publish.lua` through raw EVALSHA, no `@huleedu/notify` code.
 */
export function publishPositioned(
  redis: Redis | Cluster,
  userId: string,
  envelope: { event: string; data: Record<string, unknown> },
  options: PublishOptions = {},
): Promise<Published> {
  const { length, ttlSeconds, ...rest } = options;
  return publishDurably(redis, userId, envelope, {
    ...rest,
    historyLength: length ?? 1000,
    historyTtlSeconds: ttlSeconds ?? 3600,
  });
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
