import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';

/** Values of `WEBSOCKET_REDIS_MODE`: one Redis server, or a Redis Cluster. */
export const redisModes = ['standalone', 'cluster'] as const;
/** One of {@link redisModes}. */
export type RedisMode = (typeof redisModes)[number];

/**
 * Where the service finds Redis: one server, or the seed nodes of a Redis Cluster (any one
 * reachable seed is enough to discover every master; credentials and TLS of the first seed apply
 * to every node).
 */
export type RedisSettings =
  | { readonly mode: 'standalone'; readonly url: string }
  | { readonly mode: 'cluster'; readonly nodes: readonly string[] };

/** Longest pause between reconnect attempts while Redis is down, for every client. */
export const MAX_RECONNECT_DELAY_MS = 2_000;

/** The pause before reconnect attempt `attempt` (1-based): 100 ms more each time, capped. */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);
}

/** How to reach a Redis Cluster from its seed URLs. */
export interface ClusterSeeds {
  readonly seeds: readonly { readonly host: string; readonly port: number }[];
  /** Credentials and TLS for connections to any node, from the first seed. */
  readonly nodeOptions: RedisOptions;
}

/** The seed nodes of `WEBSOCKET_REDIS_URL` in cluster mode, and the options every node shares. */
export function clusterSeeds(nodes: readonly string[]): ClusterSeeds {
  const urls = nodes.map((node) => new URL(node));
  const first = urls[0];
  if (first === undefined) throw new RangeError('a Redis Cluster needs at least one seed node');
  return {
    seeds: urls.map((url) => ({ host: url.hostname, port: Number(url.port || 6379) })),
    nodeOptions: {
      ...(first.username === '' ? {} : { username: decodeURIComponent(first.username) }),
      ...(first.password === '' ? {} : { password: decodeURIComponent(first.password) }),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  };
}

/**
 * One connection to one Redis server (`target`: a redis:// URL, or connection options of one
 * cluster node). It connects when asked (`lazyConnect`) and reconnects with
 * {@link reconnectDelay} unless `connection` brings its own `retryStrategy`.
 */
export function connectRedis(target: string | RedisOptions, connection: RedisOptions): Redis {
  const options: RedisOptions = { lazyConnect: true, retryStrategy: reconnectDelay, ...connection };
  return typeof target === 'string'
    ? new Redis(target, options)
    : new Redis({ ...target, ...options });
}

/**
 * A client of the Redis Cluster behind the seed URLs `nodes`: `node` applies to each node's
 * connection (after the first seed's credentials and TLS), `cluster` to the client itself. It
 * connects when asked and looks for the cluster again with {@link reconnectDelay}.
 */
export function connectCluster(
  nodes: readonly string[],
  node: RedisOptions,
  cluster: Omit<ClusterOptions, 'redisOptions'> = {},
): Cluster {
  const { seeds, nodeOptions } = clusterSeeds(nodes);
  return new Cluster([...seeds], {
    lazyConnect: true,
    clusterRetryStrategy: reconnectDelay,
    ...cluster,
    redisOptions: { ...nodeOptions, ...node },
  });
}

/**
 * A client for `settings`: one connection to a standalone Redis, or a Cluster client that sends
 * each command to the master owning its key. `connection` applies to every connection.
 */
export function connectTo(
  settings: RedisSettings,
  connection: RedisOptions,
  cluster: Omit<ClusterOptions, 'redisOptions'> = {},
): Redis | Cluster {
  return settings.mode === 'standalone'
    ? connectRedis(settings.url, connection)
    : connectCluster(settings.nodes, connection, cluster);
}

/**
 * Logs a Redis client's connection errors: the first one of an outage as a warning, the ones the
 * retries repeat every couple of seconds at debug, until the client is ready again.
 */
export class OutageLog {
  readonly #logger: Logger;
  readonly #message: string;
  readonly #fields: Record<string, unknown>;
  #reported: boolean;

  /**
   * `message` and `fields` go with every line; `reported`: the outage was already reported
   * elsewhere (a new connection that joins it logs at debug from the start).
   */
  constructor(
    logger: Logger,
    message: string,
    fields: Record<string, unknown> = {},
    reported = false,
  ) {
    this.#logger = logger;
    this.#message = message;
    this.#fields = fields;
    this.#reported = reported;
  }

  /** The client is ready: the next error starts a new outage. */
  ready(): void {
    this.#reported = false;
  }

  /** One connection error. */
  error(error: Error): void {
    const level = this.#reported ? 'debug' : 'warn';
    this.#reported = true;
    this.#logger[level]({ ...this.#fields, err: error.message }, this.#message);
  }

  /** Wires {@link ready} and {@link error} to `client`; no errors are logged once `isClosed()`. */
  watch(client: Redis | Cluster, isClosed: () => boolean): void {
    client.on('ready', () => this.ready());
    client.on('error', (error: Error) => {
      if (!isClosed()) this.error(error);
    });
  }
}
