import { createPublicKey } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { type Algorithm, supportedAlgorithms } from '@huleedu/auth';
import { DEFAULT_CHANNEL_PREFIX } from '@huleedu/ws-protocol';

/** JWT algorithms the service can be pinned to: exactly those `@huleedu/auth` verifies. */
export const jwtAlgorithms = supportedAlgorithms;
/** One of {@link jwtAlgorithms}. */
export type JwtAlgorithm = Algorithm;

/** Log levels accepted by `LOG_LEVEL` (pino's levels). */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link logLevels}. */
export type LogLevel = (typeof logLevels)[number];

/** Values of `WEBSOCKET_REDIS_MODE`: one Redis server, or a Redis Cluster. */
export const redisModes = ['standalone', 'cluster'] as const;
/** One of {@link redisModes}. */
export type RedisMode = (typeof redisModes)[number];

/**
 * Values of `WEBSOCKET_PUBSUB`: `classic` (SUBSCRIBE; publishers use PUBLISH) or `sharded`
 * (SSUBSCRIBE, Redis 7+; publishers must use SPUBLISH).
 */
export const pubsubModes = ['classic', 'sharded'] as const;
/** One of {@link pubsubModes}. */
export type PubSubMode = (typeof pubsubModes)[number];

/**
 * Where the backplane finds Redis: one server, or the seed nodes of a Redis Cluster (any one
 * reachable seed is enough to discover every master; credentials and TLS of the first seed apply
 * to every node).
 */
export type RedisSettings =
  | { readonly mode: 'standalone'; readonly url: string }
  | { readonly mode: 'cluster'; readonly nodes: readonly string[] };

/** The validated configuration of one service process. Durations are in milliseconds. */
export interface Settings {
  readonly port: number;
  readonly host: string;
  readonly redis: RedisSettings;
  /** How user channels are subscribed; publishers must match (PUBLISH or SPUBLISH). */
  readonly pubsub: PubSubMode;
  readonly channelPrefix: string;
  readonly jwt: {
    readonly algorithm: JwtAlgorithm;
    /** Shared secret for HS* algorithms. */
    readonly secret?: string;
    /** PEM public key for RS256/ES256. */
    readonly publicKey?: string;
    readonly audience: string;
    readonly issuer: string;
    readonly clockToleranceSeconds: number;
  };
  readonly maxConnectionsPerUser: number;
  readonly pingIntervalMs: number;
  /** Allowed `Origin` values; `undefined` allows every origin. */
  readonly allowedOrigins?: readonly string[];
  readonly maxPayloadBytes: number;
  /** A socket with more outbound bytes queued than this is dropped as a slow consumer. */
  readonly maxBufferedBytes: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: LogLevel;
  /** Worker processes behind the port; 1 = one process, no cluster primary (`auto` resolved). */
  readonly workers: number;
}

/** One environment variable that could not be used, with what is wrong in words a person can act on. */
export interface ConfigIssue {
  readonly variable: string;
  readonly message: string;
}

/** Result of {@link loadSettings}: settings, or every problem found (not just the first). */
export type LoadSettingsResult =
  | { ok: true; settings: Settings }
  | { ok: false; issues: readonly ConfigIssue[] };

/** Thrown by {@link settingsFromEnv} when the environment is invalid; lists every issue. */
export class ConfigError extends Error {
  /** Machine-readable error code. */
  readonly code = 'invalid_config';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Defaults for every optional variable, as documented in the README. */
export const defaults = {
  WEBSOCKET_SERVICE_PORT: 8080,
  WEBSOCKET_SERVICE_HOST: '0.0.0.0',
  WEBSOCKET_REDIS_URL: 'redis://localhost:6379',
  WEBSOCKET_REDIS_MODE: 'standalone',
  WEBSOCKET_PUBSUB: 'classic',
  WEBSOCKET_CHANNEL_PREFIX: DEFAULT_CHANNEL_PREFIX,
  JWT_ALGORITHM: 'HS256',
  JWT_AUDIENCE: 'huleedu-platform',
  JWT_ISSUER: 'huleedu-identity-service',
  JWT_CLOCK_TOLERANCE_SECONDS: 5,
  WEBSOCKET_MAX_CONNECTIONS_PER_USER: 5,
  WEBSOCKET_PING_INTERVAL: 30,
  WEBSOCKET_MAX_PAYLOAD_BYTES: 4096,
  WEBSOCKET_MAX_BUFFERED_BYTES: 1024 * 1024,
  WEBSOCKET_SHUTDOWN_GRACE_SECONDS: 10,
  LOG_LEVEL: 'info',
  WEBSOCKET_WORKERS: 1,
} as const;

/** Largest `WEBSOCKET_WORKERS`: far beyond any sane machine, but a typo like 1000 is caught. */
export const MAX_WORKERS = 128;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates the service configuration from environment variables. Every bad value
 * produces its own issue; all are returned together so one restart fixes them all. Secrets are
 * never echoed in messages.
 */
export function loadSettings(env: Env): LoadSettingsResult {
  const reader = new EnvReader(env);

  const port = reader.integer('WEBSOCKET_SERVICE_PORT', defaults.WEBSOCKET_SERVICE_PORT, 0, 65535);
  const host = reader.text('WEBSOCKET_SERVICE_HOST', defaults.WEBSOCKET_SERVICE_HOST);
  const redisMode = reader.oneOf('WEBSOCKET_REDIS_MODE', defaults.WEBSOCKET_REDIS_MODE, redisModes);
  const redis = reader.redis('WEBSOCKET_REDIS_URL', defaults.WEBSOCKET_REDIS_URL, redisMode);
  const pubsub = reader.oneOf('WEBSOCKET_PUBSUB', defaults.WEBSOCKET_PUBSUB, pubsubModes);
  const channelPrefix = reader.channelPrefix(
    'WEBSOCKET_CHANNEL_PREFIX',
    defaults.WEBSOCKET_CHANNEL_PREFIX,
  );
  const algorithm = reader.oneOf('JWT_ALGORITHM', defaults.JWT_ALGORITHM, jwtAlgorithms);
  const secret = reader.optionalText('JWT_SECRET_KEY');
  const publicKey = reader.publicKey('JWT_PUBLIC_KEY');
  const publicKeyGiven = reader.optionalText('JWT_PUBLIC_KEY') !== undefined;
  const audience = reader.text('JWT_AUDIENCE', defaults.JWT_AUDIENCE);
  const issuer = reader.text('JWT_ISSUER', defaults.JWT_ISSUER);
  const clockToleranceSeconds = reader.integer(
    'JWT_CLOCK_TOLERANCE_SECONDS',
    defaults.JWT_CLOCK_TOLERANCE_SECONDS,
    0,
    300,
  );
  const maxConnectionsPerUser = reader.integer(
    'WEBSOCKET_MAX_CONNECTIONS_PER_USER',
    defaults.WEBSOCKET_MAX_CONNECTIONS_PER_USER,
    1,
    10_000,
  );
  const pingInterval = reader.seconds(
    'WEBSOCKET_PING_INTERVAL',
    defaults.WEBSOCKET_PING_INTERVAL,
    0.1,
    3600,
  );
  const allowedOrigins = reader.origins('WEBSOCKET_ALLOWED_ORIGINS');
  const maxPayloadBytes = reader.integer(
    'WEBSOCKET_MAX_PAYLOAD_BYTES',
    defaults.WEBSOCKET_MAX_PAYLOAD_BYTES,
    16,
    16 * 1024 * 1024,
  );
  const maxBufferedBytes = reader.integer(
    'WEBSOCKET_MAX_BUFFERED_BYTES',
    defaults.WEBSOCKET_MAX_BUFFERED_BYTES,
    1024,
    1024 * 1024 * 1024,
  );
  const shutdownGrace = reader.seconds(
    'WEBSOCKET_SHUTDOWN_GRACE_SECONDS',
    defaults.WEBSOCKET_SHUTDOWN_GRACE_SECONDS,
    0,
    3600,
  );
  const logLevel = reader.oneOf('LOG_LEVEL', defaults.LOG_LEVEL, logLevels);
  const workers = reader.workers('WEBSOCKET_WORKERS', defaults.WEBSOCKET_WORKERS);

  // The key material must match the pinned algorithm: a secret for HS*, a public key for RS/ES.
  if (algorithm !== undefined) {
    if (algorithm.startsWith('HS')) {
      if (secret === undefined) {
        reader.fail(
          'JWT_SECRET_KEY',
          `is required (the service refuses to start without it); set it to the identity service's signing secret, or set JWT_ALGORITHM to RS256/ES256 with JWT_PUBLIC_KEY`,
        );
      }
      if (publicKeyGiven) {
        reader.fail(
          'JWT_PUBLIC_KEY',
          `is set but JWT_ALGORITHM is ${algorithm}, which uses JWT_SECRET_KEY; set JWT_ALGORITHM to RS256 or ES256, or remove JWT_PUBLIC_KEY`,
        );
      }
    } else if (!publicKeyGiven) {
      reader.fail(
        'JWT_PUBLIC_KEY',
        `is required when JWT_ALGORITHM is ${algorithm}: set it to the identity service's PEM public key`,
      );
    }
  }

  if (reader.issues.length > 0) return { ok: false, issues: reader.issues };
  return {
    ok: true,
    settings: {
      port: port!,
      host: host!,
      redis: redis!,
      pubsub: pubsub!,
      channelPrefix: channelPrefix!,
      jwt: {
        algorithm: algorithm!,
        ...(algorithm!.startsWith('HS') ? { secret: secret! } : { publicKey: publicKey! }),
        audience: audience!,
        issuer: issuer!,
        clockToleranceSeconds: clockToleranceSeconds!,
      },
      maxConnectionsPerUser: maxConnectionsPerUser!,
      pingIntervalMs: Math.round(pingInterval! * 1000),
      ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
      maxPayloadBytes: maxPayloadBytes!,
      maxBufferedBytes: maxBufferedBytes!,
      shutdownGraceMs: Math.round(shutdownGrace! * 1000),
      logLevel: logLevel!,
      workers: workers!,
    },
  };
}

/** Like {@link loadSettings}, but throws a {@link ConfigError} listing every issue. */
export function settingsFromEnv(env: Env): Settings {
  const result = loadSettings(env);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.settings;
}

/** Collects issues while reading variables; each reader returns `undefined` for a bad value. */
class EnvReader {
  readonly issues: ConfigIssue[] = [];

  constructor(private readonly env: Env) {}

  fail(variable: string, message: string): undefined {
    this.issues.push({ variable, message });
    return undefined;
  }

  /** The trimmed value, or `undefined` when unset or blank (blank means "use the default"). */
  private raw(variable: string): string | undefined {
    const value = this.env[variable]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  text(variable: string, fallback: string): string {
    return this.raw(variable) ?? fallback;
  }

  optionalText(variable: string): string | undefined {
    return this.raw(variable);
  }

  integer(variable: string, fallback: number, min: number, max: number): number | undefined {
    const value = this.raw(variable);
    if (value === undefined) return fallback;
    const parsed = /^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      return this.fail(
        variable,
        `expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`,
      );
    }
    return parsed;
  }

  seconds(variable: string, fallback: number, min: number, max: number): number | undefined {
    const value = this.raw(variable);
    if (value === undefined) return fallback;
    const parsed = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      return this.fail(
        variable,
        `expected a number of seconds from ${min} to ${max}, got ${JSON.stringify(value)}`,
      );
    }
    return parsed;
  }

  oneOf<T extends string>(variable: string, fallback: T, allowed: readonly T[]): T | undefined {
    const value = this.raw(variable) ?? fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    return this.fail(
      variable,
      `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }

  /** A worker count: a whole number from 1 to {@link MAX_WORKERS}, or `auto` (one per core). */
  workers(variable: string, fallback: number): number | undefined {
    const value = this.raw(variable);
    if (value === undefined) return fallback;
    const cores = availableParallelism();
    if (value.toLowerCase() === 'auto') return Math.min(cores, MAX_WORKERS);
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < 1 || parsed > MAX_WORKERS) {
      return this.fail(
        variable,
        `expected a whole number of worker processes from 1 to ${MAX_WORKERS}, or "auto" (one per CPU core: ${cores} here), got ${JSON.stringify(value)}`,
      );
    }
    return parsed;
  }

  /**
   * `WEBSOCKET_REDIS_URL`: one URL in standalone mode; in cluster mode a comma-separated list of
   * seed nodes. `mode` undefined means the mode itself was invalid (reported on its own).
   */
  redis(
    variable: string,
    fallback: string,
    mode: RedisMode | undefined,
  ): RedisSettings | undefined {
    const value = this.raw(variable) ?? fallback;
    // Split only before another scheme, so a comma inside a password stays part of its URL.
    const entries = value.split(/,(?=\s*[a-z][a-z0-9+.-]*:\/\/)/i).map((entry) => entry.trim());
    if (mode === undefined) return undefined;
    if (mode === 'standalone') {
      if (entries.length > 1) {
        return this.fail(
          variable,
          `lists ${entries.length} URLs, but WEBSOCKET_REDIS_MODE is standalone; give one URL, or set WEBSOCKET_REDIS_MODE=cluster to use them as cluster seed nodes`,
        );
      }
      return this.redisUrl(variable, value, '') === undefined ? undefined : { mode, url: value };
    }
    const urls: URL[] = [];
    for (const [index, entry] of entries.entries()) {
      const what = entries.length > 1 ? `seed ${index + 1} (${safeUrl(entry)}): ` : '';
      const url = this.redisUrl(variable, entry, what);
      if (url === undefined) continue;
      if (!['', '/', '/0'].includes(url.pathname)) {
        this.fail(
          variable,
          `${what}selects database ${JSON.stringify(url.pathname.slice(1))}, but a Redis Cluster has only database 0; remove the path`,
        );
        continue;
      }
      const first = urls[0];
      if (first !== undefined && url.protocol !== first.protocol) {
        this.fail(
          variable,
          `${what}mixes redis:// and rediss:// seeds; every node of a cluster is reached the same way`,
        );
        continue;
      }
      const credentials = url.username !== '' || url.password !== '';
      if (
        first !== undefined &&
        credentials &&
        (url.username !== first.username || url.password !== first.password)
      ) {
        this.fail(
          variable,
          `${what}has other credentials than the first seed; the first seed's credentials are used for every node`,
        );
        continue;
      }
      urls.push(url);
    }
    if (urls.length !== entries.length) return undefined;
    return { mode, nodes: entries };
  }

  /** One redis:// or rediss:// URL with a host; `what` prefixes messages about list entries. */
  private redisUrl(variable: string, value: string, what: string): URL | undefined {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return this.fail(
        variable,
        `${what}expected a URL like redis://host:6379, got ${safeUrl(value)}`,
      );
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      return this.fail(
        variable,
        `${what}expected a redis:// or rediss:// URL, got scheme ${JSON.stringify(url.protocol)}`,
      );
    }
    if (url.hostname === '') return this.fail(variable, `${what}expected a host name, got none`);
    return url;
  }

  channelPrefix(variable: string, fallback: string): string | undefined {
    const value = this.raw(variable) ?? fallback;
    // Glob characters would make the channel name ambiguous for PSUBSCRIBE-based tooling.
    if (/[\s*?[\]]/.test(value)) {
      return this.fail(
        variable,
        `must not contain spaces or the glob characters * ? [ ], got ${JSON.stringify(value)}`,
      );
    }
    return value;
  }

  publicKey(variable: string): string | undefined {
    const raw = this.raw(variable);
    if (raw === undefined) return undefined;
    // Container environments often carry PEM newlines as the two characters "\n".
    const pem = raw.includes('\\n') ? raw.replaceAll('\\n', '\n') : raw;
    try {
      const key = createPublicKey(pem);
      if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') {
        return this.fail(
          variable,
          `expected an RSA or EC public key, got a ${key.asymmetricKeyType ?? 'unknown'} key`,
        );
      }
    } catch {
      return this.fail(
        variable,
        'is not a PEM public key (expected -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)',
      );
    }
    return pem;
  }

  origins(variable: string): string[] | undefined {
    const raw = this.raw(variable);
    if (raw === undefined) return undefined;
    const origins: string[] = [];
    for (const entry of raw.split(',')) {
      const value = entry.trim();
      if (value === '') continue;
      if (value === '*') return undefined;
      const origin = normalizeOrigin(value);
      if (origin === undefined) {
        this.fail(
          variable,
          `${JSON.stringify(value)} is not an origin; expected scheme://host[:port] such as https://app.huleedu.com`,
        );
        continue;
      }
      origins.push(origin);
    }
    return origins.length === 0 ? undefined : origins;
  }
}

/**
 * The canonical form of an origin (`scheme://host[:port]`, lower case, default port dropped), or
 * `undefined` when `value` is not a bare origin. Used for both configuration and request headers.
 */
export function normalizeOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const bare = url.pathname === '/' && url.search === '' && url.hash === '';
  if (!bare || url.username !== '' || url.password !== '') return undefined;
  return url.origin;
}

/** A URL for an error message, with any password hidden. */
function safeUrl(value: string): string {
  return JSON.stringify(value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'));
}
