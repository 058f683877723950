import { revocationKey } from '@huleedu/ws-protocol';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisSettings } from './config.js';
import type { Logger } from './logger.js';
import { clusterSeeds } from './redis-cluster-topology.js';

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

/** Longest pause between reconnect attempts while Redis is down. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * Reads whether a user's older tokens were revoked (`{<channel>}:revoked_before`, written by
 * `disconnectUser` in `@huleedu/notify`), for every handshake and for the revocation sweep.
 *
 * One connection of its own (a cluster client in cluster mode), never the subscriber: a
 * subscribed connection cannot GET. Auto-pipelining sends the reads of a reconnect storm as a
 * few round trips. Nothing is queued while Redis is away and every read is bounded by
 * `timeoutMs`, so a handshake is never held longer than that: the caller refuses it instead.
 */
export class RevocationStore {
  readonly #options: RevocationStoreOptions;
  readonly #redis: Redis | Cluster;
  #errorLogged = false;
  #closed = false;

  constructor(options: RevocationStoreOptions) {
    this.#options = options;
    const common: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs,
      // Its own name, so CLIENT LIST tells it from the subscriber connections.
      connectionName: 'huleedu-websocket-service-revocations',
    };
    if (options.redis.mode === 'standalone') {
      this.#redis = new Redis(options.redis.url, {
        ...common,
        lazyConnect: true,
        enableAutoPipelining: true,
        retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
      });
    } else {
      const { seeds, nodeOptions } = clusterSeeds(options.redis.nodes);
      this.#redis = new Cluster([...seeds], {
        lazyConnect: true,
        enableAutoPipelining: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
        redisOptions: { ...nodeOptions, ...common },
      });
    }
    this.#redis.on('ready', () => {
      this.#errorLogged = false;
    });
    this.#redis.on('error', (error: Error) => {
      if (this.#closed) return;
      // One warning per outage; the subscriber reports the same outage too.
      this.#options.logger[this.#errorLogged ? 'debug' : 'warn'](
        { err: error.message },
        'redis revocation reader error',
      );
      this.#errorLogged = true;
    });
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
  async revokedBefore(userId: string): Promise<number | undefined> {
    const value = await this.#redis.get(revocationKey(userId, this.#options.channelPrefix));
    if (value === null) return undefined;
    const seconds = Number(value);
    if (value === '' || !Number.isFinite(seconds)) {
      throw new Error(`revocation key of ${userId} holds ${JSON.stringify(value.slice(0, 40))}`);
    }
    return seconds;
  }

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
