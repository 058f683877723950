import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { NotifierError } from './errors.js';

/** Nodes of a Redis Cluster for the notifier to connect to (and own). */
export interface ClusterTarget {
  /** Seed node URLs, e.g. `['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379']`. */
  cluster: readonly string[];
}

/**
 * Where the notifier publishes: a URL or cluster seed list (the notifier opens and owns that
 * connection), or an ioredis `Redis`/`Cluster` the caller already has (the notifier borrows it
 * and never closes it).
 */
export type RedisTarget = string | Redis | Cluster | ClusterTarget;

/** One connection the notifier publishes through. */
export interface Connection {
  readonly client: Redis | Cluster;
  /** True when the notifier opened the connection and must close it. */
  readonly owned: boolean;
  /** Where the connection goes, for error messages; passwords are masked. */
  readonly describe: string;
  /** The connection error since the last successful connect (owned connections only), to explain a failed publish. */
  lastError(): Error | undefined;
  /** Closes an owned connection (politely, then forcibly); a borrowed one is left alone. */
  close(): Promise<void>;
}

/**
 * Options for a connection the notifier owns. ioredis defaults would let a publish wait through
 * 20 reconnect attempts and a connect to a black-holed host wait 10 s per attempt; a notifier
 * should fail fast and let the caller decide. The connection itself keeps reconnecting in the
 * background (ioredis' default backoff, capped at 2 s), so a restarted Redis is picked up.
 */
export const ownedConnectionOptions = {
  /** A publish queued while disconnected fails after one reconnect attempt fails too. */
  maxRetriesPerRequest: 1,
  /** Give up one TCP connect attempt after 5 s. */
  connectTimeout: 5_000,
  /** Shows up in CLIENT LIST, so operators can tell publishers from the service's subscriber. */
  connectionName: 'huleedu-notify',
} as const satisfies RedisOptions;

const QUIT_TIMEOUT_MS = 2_000;

/** Opens (or borrows) the connection for `target`. Throws `NotifierError('invalid_options')`. */
export function openConnection(target: RedisTarget): Connection {
  if (typeof target === 'string') {
    const url = parseRedisUrl(target, 'redis');
    return owned(new Redis(url.href, { ...ownedConnectionOptions }), maskPassword(url));
  }
  if (isClient(target)) return borrowed(target);
  if (typeof target === 'object' && target !== null && Array.isArray(target.cluster)) {
    return openCluster(target.cluster);
  }
  throw new NotifierError(
    'invalid_options',
    'redis must be a redis:// URL, an ioredis Redis or Cluster client, or { cluster: [urls] }',
  );
}

function openCluster(seeds: readonly string[]): Connection {
  if (seeds.length === 0) {
    throw new NotifierError('invalid_options', 'redis.cluster must list at least one node URL');
  }
  const urls = seeds.map((seed, index) => parseRedisUrl(seed, `redis.cluster[${index}]`));
  const first = urls[0]!;
  const options: ClusterOptions = {
    // Auth and TLS of the seeds apply to every node the cluster discovers.
    redisOptions: {
      connectTimeout: ownedConnectionOptions.connectTimeout,
      connectionName: ownedConnectionOptions.connectionName,
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    },
    maxRedirections: 16,
  };
  const nodes = urls.map((url) => ({ host: url.hostname, port: Number(url.port || 6379) }));
  return owned(new Cluster(nodes, options), `cluster ${urls.map(maskPassword).join(', ')}`);
}

function owned(client: Redis | Cluster, describe: string): Connection {
  let lastError: Error | undefined;
  // Without a listener ioredis prints every reconnect failure to the console; the error is kept
  // instead and reported with the publish that it makes fail.
  client.on('error', (error: Error) => {
    lastError = error;
  });
  client.on('ready', () => {
    lastError = undefined;
  });
  return {
    client,
    owned: true,
    describe,
    lastError: () => lastError,
    async close() {
      if (client.status === 'end') return;
      if (client.status === 'ready') {
        // QUIT lets Redis flush replies to publishes still in flight; bounded in case it hangs.
        const timer = setTimeout(() => client.disconnect(), QUIT_TIMEOUT_MS);
        try {
          await client.quit();
        } catch {
          // Closing anyway: the connection is being dropped, nothing is left to lose.
        } finally {
          clearTimeout(timer);
        }
      }
      client.disconnect();
    },
  };
}

function borrowed(client: Redis | Cluster): Connection {
  return {
    client,
    owned: false,
    describe: 'the caller-supplied Redis client',
    lastError: () => undefined,
    async close() {},
  };
}

function isClient(target: unknown): target is Redis | Cluster {
  // Duck-typed rather than instanceof: a caller's ioredis may be a different copy than ours.
  return (
    typeof target === 'object' &&
    target !== null &&
    typeof (target as { publish?: unknown }).publish === 'function' &&
    typeof (target as { status?: unknown }).status === 'string'
  );
}

function parseRedisUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new NotifierError(
      'invalid_options',
      `${what}: ${JSON.stringify(redactUserinfo(text))} is not a URL (expected redis://host:port)`,
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new NotifierError(
      'invalid_options',
      `${what}: expected a redis:// or rediss:// URL, got ${url.protocol}//`,
    );
  }
  return url;
}

function maskPassword(url: URL): string {
  if (!url.password) return url.href;
  const masked = new URL(url.href);
  masked.password = '***';
  return masked.href;
}

/**
 * `text` (a URL that may not parse) with everything before its last `@` in the authority
 * replaced by `***`: `redis://user:secret@host` -> `redis://***@host`. Where the password ends
 * cannot be told in a string that does not parse (it may itself hold `@`, `/` or `:`), so the
 * whole user information goes.
 */
export function redactUserinfo(text: string): string {
  const at = text.lastIndexOf('@');
  if (at === -1) return text;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text);
  const start = scheme ? scheme[0].length : 0;
  return at < start ? text : `${text.slice(0, start)}***${text.slice(at)}`;
}
