import { revocationKey } from '@huleedu/ws-protocol';
import { Cluster, type Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { connectTo, OutageLog, type RedisSettings } from '../redis/connection.js';

/** What {@link RevocationStore} needs. */
export interface RevocationStoreOptions {
  readonly redis: RedisSettings;
  readonly channelPrefix: string;
  /** A read Redis has not answered by then fails (the handshake gets 1013 `not_ready`). */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/** Default of `WEBSOCKET_REVOCATION_TIMEOUT_SECONDS`, ms. */
export const DEFAULT_REVOCATION_TIMEOUT_MS = 1_000;

/** Most keys one MGET carries; a bigger batch is sent in several. */
const MAX_KEYS_PER_READ = 1_000;

/** A read waiting for its batch's MGET. */
interface PendingRead {
  readonly userId: string;
  readonly resolve: (seconds: number | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Reads whether a user's older tokens were revoked (`{<channel>}:revoked_before`, written by
 * `disconnectUser` in `@huleedu/notify`), for every handshake and for the revocation sweep.
 *
 * One connection of its own (a cluster client in cluster mode), never the subscriber: a
 * subscribed connection cannot GET. On a standalone Redis the reads go out as MGETs, and while
 * one waits for Redis the reads asked for meanwhile wait too, then go out together: a reconnect
 * storm costs one round trip per batch of handshakes, not one or two per turn of the event loop.
 * On a cluster they are auto-pipelined GETs (the keys live in different slots). One command per
 * batch also keeps the handshake's garbage small: each ioredis command (its promise, timeout and
 * pipeline) outlives a young-generation collection while it waits for Redis, so V8 promotes it,
 * and the old generation keeps it until its next full collection. Nothing is queued while Redis
 * is away and every command is bounded by `timeoutMs`: a read fails after that, or, when it
 * waited for the MGET in flight, after that MGET's answer plus its own (at most twice
 * `timeoutMs`; it fails at once with an MGET that timed out). The caller then refuses the
 * handshake.
 */
export class RevocationStore {
  readonly #options: RevocationStoreOptions;
  readonly #redis: Redis | Cluster;
  #closed = false;
  /** Standalone: the reads not sent yet, sent together by {@link #readBatch}. */
  #batch: PendingRead[] = [];
  /** Standalone: an MGET is waiting for Redis; reads asked for meanwhile wait for its answer. */
  #reading = false;

  constructor(options: RevocationStoreOptions) {
    this.#options = options;
    this.#redis = connectTo(
      options.redis,
      {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: options.timeoutMs,
        // Its own name, so CLIENT LIST tells it from the subscriber connections.
        connectionName: 'huleedu-websocket-service-revocations',
      },
      { enableAutoPipelining: true, enableOfflineQueue: false },
    );
    // The subscriber reports the same outage too.
    new OutageLog(options.logger, 'redis revocation reader error').watch(
      this.#redis,
      () => this.#closed,
    );
  }

  /** True when reads can be answered (the connection is up); handshakes need it. */
  get connected(): boolean {
    return this.#redis.status === 'ready';
  }

  /** Starts connecting; while Redis is unreachable reads fail at once and it keeps retrying. */
  start(): void {
    this.#redis.connect().catch((error: Error) => {
      this.#options.logger.debug({ err: error.message }, 'first revocation reader connect failed');
    });
  }

  /**
   * Epoch seconds before which `userId`'s tokens are revoked, or `undefined` when none are.
   * Rejects when Redis cannot answer within the timeout (or holds something that is not a
   * number there).
   */
  revokedBefore(userId: string): Promise<number | undefined> {
    if (this.#redis instanceof Cluster) {
      return this.#redis
        .get(revocationKey(userId, this.#options.channelPrefix))
        .then((value) => revocationSeconds(userId, value));
    }
    return new Promise((resolve, reject) => {
      this.#batch.push({ userId, resolve, reject });
      if (this.#batch.length === 1 && !this.#reading) setImmediate(this.#readBatch);
    });
  }

  /**
   * Sends the waiting reads as MGETs of at most {@link MAX_KEYS_PER_READ} keys, and no more until
   * Redis answered them: the reads asked for meanwhile wait for that answer and go out together
   * (in a connect storm, one round trip per batch of handshakes instead of one or two per turn).
   * If the reads in flight fail, those waiting fail with them: Redis is not answering in time.
   */
  readonly #readBatch = (): void => {
    const waiting = this.#batch;
    this.#batch = [];
    if (waiting.length === 0) return;
    this.#reading = true;
    const prefix = this.#options.channelPrefix;
    const chunks: Promise<void>[] = [];
    for (let start = 0; start < waiting.length; start += MAX_KEYS_PER_READ) {
      const reads = waiting.slice(start, start + MAX_KEYS_PER_READ);
      const keys = reads.map((read) => revocationKey(read.userId, prefix));
      chunks.push((this.#redis as Redis).mget(keys).then((values) => answer(reads, values)));
    }
    Promise.all(chunks).then(
      () => {
        this.#reading = false;
        this.#readBatch();
      },
      (error: unknown) => {
        this.#reading = false;
        for (const read of waiting) read.reject(error);
        const queued = this.#batch;
        this.#batch = [];
        for (const read of queued) read.reject(error);
      },
    );
  };

  /** Closes the connection (QUIT, or dropped when Redis does not answer). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#redis.status === 'ready') {
      await Promise.race([
        this.#redis.quit().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
      ]);
    }
    this.#redis.disconnect();
  }
}

/** Settles each read of one MGET with its value (or with the error its value is). */
function answer(reads: readonly PendingRead[], values: readonly (string | null)[]): void {
  for (let i = 0; i < reads.length; i++) {
    const read = reads[i]!;
    try {
      read.resolve(revocationSeconds(read.userId, values[i] ?? null));
    } catch (error) {
      read.reject(error);
    }
  }
}

/** The epoch seconds a revocation key holds; `undefined` for none; throws for anything else. */
function revocationSeconds(userId: string, value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (value === '' || !Number.isFinite(seconds)) {
    throw new Error(`revocation key of ${userId} holds ${JSON.stringify(value.slice(0, 40))}`);
  }
  return seconds;
}
