import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import {
  type Algorithm,
  DEFAULT_MAX_LIFETIME_SECONDS,
  DEFAULT_MAX_SUBJECT_LENGTH,
  DEFAULT_SUBJECT_PATTERN,
  supportedAlgorithms,
  wholeValuePattern,
} from '@huleedu/auth';
import { DEFAULT_CHANNEL_PREFIX } from '@huleedu/ws-protocol';
import { z } from 'zod';
import {
  type ConnectionLimits,
  DEFAULT_HANDSHAKES_PER_ADDRESS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  defaultMaxConnections,
  defaultMaxTcpConnections,
  normalizeAddress,
} from './limits/connection-budget.js';
import { DEFAULT_INBOUND_BUDGET } from './limits/inbound-budget.js';
import { type LogLevel, logLevels } from './logger.js';
import { type RedisMode, type RedisSettings, redisModes } from './redis/connection.js';
import { DEFAULT_REVOCATION_TIMEOUT_MS } from './revocation/store.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './server.js';

/** JWT algorithms the service can be pinned to: exactly those `@huleedu/auth` verifies. */
export const jwtAlgorithms = supportedAlgorithms;
/** One of {@link jwtAlgorithms}. */
export type JwtAlgorithm = Algorithm;

export { type LogLevel, logLevels, type RedisMode, type RedisSettings, redisModes };

/**
 * Values of `WEBSOCKET_PUBSUB`: `classic` (SUBSCRIBE; publishers use PUBLISH) or `sharded`
 * (SSUBSCRIBE, Redis 7+; publishers must use SPUBLISH).
 */
export const pubsubModes = ['classic', 'sharded'] as const;
/** One of {@link pubsubModes}. */
export type PubSubMode = (typeof pubsubModes)[number];

/** Values of `WEBSOCKET_HISTORY`: replay from the per-user history (`on`) or live only (`off`). */
export const historyModes = ['on', 'off'] as const;

/**
 * How the service uses the per-user history (see `history/sync.ts`): resume, `recent` on a first
 * connect, and catch-up after its own subscriber reconnects.
 */
export interface HistorySettings {
  /** Most messages replayed to one socket; a longer gap is a `replay_limit` resync. */
  readonly replayMaxMessages: number;
  /** Cap on the `recent` query parameter (a larger value is lowered to it). */
  readonly recentMax: number;
  /** History reads in flight at once per process (more wait in a queue). */
  readonly readConcurrency: number;
  /** How long one read may take before it counts as failed (`history_unavailable`), ms. */
  readonly readTimeoutMs: number;
}

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
    /** Longest accepted token lifetime, seconds (`exp - iat`, or `exp - now` without `iat`). */
    readonly maxLifetimeSeconds: number;
    /** Longest accepted `sub`, characters. */
    readonly maxSubjectLength: number;
    /** What `sub` must match as a whole before it becomes a channel name. */
    readonly subjectPattern: RegExp;
  };
  readonly maxConnectionsPerUser: number;
  readonly pingIntervalMs: number;
  /** Allowed `Origin` values; `undefined` allows every origin. */
  readonly allowedOrigins?: readonly string[];
  readonly maxPayloadBytes: number;
  /** A socket with more outbound bytes queued than this is dropped as a slow consumer. */
  readonly maxBufferedBytes: number;
  /** Frames one socket may send: a burst, then a sustained rate; over it the socket gets 1013. */
  readonly inboundBudget: { readonly burst: number; readonly perSecond: number };
  /** How long a connection may take to send its request (the handshake), ms; then 408. */
  readonly requestTimeoutMs: number;
  /** Limits judged before the upgrade: sockets in all, per client address, handshake rate. */
  readonly connectionLimits: ConnectionLimits;
  /** TCP connections of every kind the process holds at most (above `maxConnections`). */
  readonly maxTcpConnections: number;
  /** Peers (load balancers) whose `X-Forwarded-For` names the client address. */
  readonly trustedProxies: readonly string[];
  /** How long a handshake waits for Redis to say whether its token was revoked, ms; then 1013. */
  readonly revocationTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: LogLevel;
  /** Worker processes behind the port; 1 = one process, no cluster primary (`auto` resolved). */
  readonly workers: number;
  /** Resume from the per-user history; `undefined` with `WEBSOCKET_HISTORY=off` (live only). */
  readonly history?: HistorySettings;
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
  WEBSOCKET_INBOUND_BURST: DEFAULT_INBOUND_BUDGET.burst,
  WEBSOCKET_INBOUND_RATE_PER_SECOND: DEFAULT_INBOUND_BUDGET.perSecond,
  WEBSOCKET_REQUEST_TIMEOUT_SECONDS: DEFAULT_REQUEST_TIMEOUT_MS / 1000,
  WEBSOCKET_MAX_CONNECTIONS: defaultMaxConnections(),
  WEBSOCKET_MAX_TCP_CONNECTIONS: defaultMaxTcpConnections(),
  WEBSOCKET_MAX_CONNECTIONS_PER_ADDRESS: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  WEBSOCKET_HANDSHAKE_BURST: DEFAULT_HANDSHAKES_PER_ADDRESS.burst,
  WEBSOCKET_HANDSHAKE_RATE_PER_SECOND: DEFAULT_HANDSHAKES_PER_ADDRESS.perSecond,
  WEBSOCKET_TRUSTED_PROXIES: '',
  WEBSOCKET_REVOCATION_TIMEOUT_SECONDS: DEFAULT_REVOCATION_TIMEOUT_MS / 1000,
  JWT_MAX_LIFETIME_SECONDS: DEFAULT_MAX_LIFETIME_SECONDS,
  JWT_MAX_SUBJECT_LENGTH: DEFAULT_MAX_SUBJECT_LENGTH,
  WEBSOCKET_SHUTDOWN_GRACE_SECONDS: 10,
  LOG_LEVEL: 'info',
  WEBSOCKET_WORKERS: 1,
  WEBSOCKET_HISTORY: 'on',
  // About what fits the default outbound buffer (1 MiB) at a typical notification's ~500 bytes,
  // and above any sensible per-user retention (notify keeps 100 by default): a restart's gap is
  // replayed rather than refetched. A read never returns more than the history holds, and every
  // replayed frame obeys WEBSOCKET_MAX_BUFFERED_BYTES. 2,000 covers 20 s at 100/s per user.
  WEBSOCKET_REPLAY_MAX_MESSAGES: 2000,
  WEBSOCKET_RECENT_MAX: 50,
  WEBSOCKET_HISTORY_READ_CONCURRENCY: 64,
  WEBSOCKET_HISTORY_READ_TIMEOUT_MS: 5000,
} as const;

/** Largest `WEBSOCKET_WORKERS`: far beyond any sane machine, but a typo like 1000 is caught. */
export const MAX_WORKERS = 128;

type Env = Readonly<Record<string, string | undefined>>;

/** `expected <accepts>, got "<value>"`: how every variable's error reads. */
const expected =
  (accepts: string) =>
  (issue: { input?: unknown }): string =>
    `expected ${accepts}, got ${JSON.stringify(issue.input)}`;

/** A variable's value: trimmed; unset or blank means "use the default". */
function variable<T extends z.ZodType>(schema: T) {
  return z.preprocess(
    (value) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined),
    schema,
  );
}

/** A text variable with a default. */
const textVar = (fallback: string) => variable(z.string().default(fallback));

/** An optional text variable (a secret or a key): never echoed in messages. */
const optionalVar = () => variable(z.optional(z.string()));

/** A number from `min` to `max`, written as `pattern` allows; `accepts` words it for messages. */
function numberVar(fallback: number, min: number, max: number, pattern: RegExp, accepts: string) {
  return variable(
    z
      .string()
      .refine((value) => pattern.test(value) && Number(value) >= min && Number(value) <= max, {
        error: expected(`${accepts} from ${min} to ${max}`),
      })
      .transform(Number)
      .default(fallback),
  );
}

/** A whole number from `min` to `max`, written in decimal digits. */
const wholeNumberVar = (fallback: number, min: number, max: number) =>
  numberVar(fallback, min, max, /^[+-]?\d+$/, 'a whole number');

/** A number of seconds from `min` to `max` (fractions allowed), returned in milliseconds. */
const millisecondsVar = (fallbackSeconds: number, min: number, max: number) =>
  numberVar(fallbackSeconds, min, max, /^\d+(\.\d+)?$/, 'a number of seconds').transform(
    (seconds) => Math.round(seconds * 1000),
  );

/** One of `values`, the default when unset. */
function oneOfVar<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return variable(
    z.enum(values, { error: expected(`one of ${values.join(', ')}`) }).default(fallback),
  );
}

/** `WEBSOCKET_WORKERS`: a whole number of processes, or `auto` (one per CPU core). */
function workersVar(fallback: number) {
  const cores = availableParallelism();
  return variable(
    z
      .string()
      .refine(
        (value) =>
          value.toLowerCase() === 'auto' ||
          (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_WORKERS),
        {
          error: expected(
            `a whole number of worker processes from 1 to ${MAX_WORKERS}, or "auto" (one per CPU core: ${cores} here)`,
          ),
        },
      )
      .transform((value) =>
        value.toLowerCase() === 'auto' ? Math.min(cores, MAX_WORKERS) : Number(value),
      )
      .default(fallback),
  );
}

/**
 * `JWT_SUBJECT_PATTERN`: a regular expression the whole `sub` must match (anchors implied);
 * unset keeps `@huleedu/auth`'s default. A pattern that does not compile is reported here, not at
 * the first handshake.
 */
const subjectPatternVar = () =>
  variable(
    z.optional(
      z.string().transform((source, context) => {
        try {
          return wholeValuePattern(source);
        } catch (error) {
          context.issues.push({
            code: 'custom',
            input: source,
            message: `expected a regular expression, got ${JSON.stringify(source)} (${(error as Error).message})`,
          });
          return z.NEVER;
        }
      }),
    ),
  );

/**
 * `WEBSOCKET_TRUSTED_PROXIES`: comma-separated IP addresses of the load balancers in front of the
 * service; only their `X-Forwarded-For` is believed. Empty: the peer's address is the client's.
 */
const trustedProxiesVar = () =>
  variable(
    z
      .string()
      .transform((raw, context) => {
        const proxies: string[] = [];
        for (const entry of raw.split(',')) {
          const value = entry.trim();
          if (value === '') continue;
          if (isIP(value) === 0) {
            context.issues.push({
              code: 'custom',
              input: value,
              message: `expected IP addresses separated by commas, got ${JSON.stringify(value)}`,
            });
            continue;
          }
          proxies.push(normalizeAddress(value));
        }
        return proxies;
      })
      .default([]),
  );

/** `WEBSOCKET_CHANNEL_PREFIX`: no whitespace or glob characters (PSUBSCRIBE tooling). */
const channelPrefixVar = (fallback: string) =>
  variable(
    z
      .string()
      .refine((value) => !/[\s*?[\]]/.test(value), {
        error: (issue) =>
          `must not contain spaces or the glob characters * ? [ ], got ${JSON.stringify(issue.input)}`,
      })
      .default(fallback),
  );

/**
 * `WEBSOCKET_ALLOWED_ORIGINS`: comma-separated origins, each checked on its own; `*` or an empty
 * list allows every origin (`undefined`).
 */
const originsVar = () =>
  variable(
    z.optional(
      z.string().transform((raw, context) => {
        const origins: string[] = [];
        for (const entry of raw.split(',')) {
          const value = entry.trim();
          if (value === '') continue;
          if (value === '*') return undefined;
          const origin = normalizeOrigin(value);
          if (origin === undefined) {
            context.issues.push({
              code: 'custom',
              input: value,
              message: `${JSON.stringify(value)} is not an origin; expected scheme://host[:port] such as https://app.huleedu.com`,
            });
            continue;
          }
          origins.push(origin);
        }
        return origins.length === 0 ? undefined : origins;
      }),
    ),
  );

/**
 * `JWT_PUBLIC_KEY`: a PEM RSA or EC public key. Container environments often carry PEM newlines as
 * the two characters `\n`; they are turned back into newlines. The key itself is never echoed.
 */
const publicKeyVar = () =>
  variable(
    z.optional(
      z.string().transform((raw, context) => {
        const pem = raw.includes('\\n') ? raw.replaceAll('\\n', '\n') : raw;
        let type: string | undefined;
        try {
          type = createPublicKey(pem).asymmetricKeyType;
        } catch {
          context.issues.push({
            code: 'custom',
            input: '(not shown)',
            message:
              'is not a PEM public key: expected -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----, got something else (not shown)',
          });
          return z.NEVER;
        }
        if (type !== 'rsa' && type !== 'ec') {
          context.issues.push({
            code: 'custom',
            input: '(not shown)',
            message: `expected an RSA or EC public key, got a ${type ?? 'unknown'} key`,
          });
          return z.NEVER;
        }
        return pem;
      }),
    ),
  );

// Each variable on its own: trimmed (blank means default), coerced and checked.
const variables = z.object({
  WEBSOCKET_SERVICE_PORT: wholeNumberVar(defaults.WEBSOCKET_SERVICE_PORT, 0, 65535),
  WEBSOCKET_SERVICE_HOST: textVar(defaults.WEBSOCKET_SERVICE_HOST),
  WEBSOCKET_REDIS_MODE: oneOfVar(redisModes, defaults.WEBSOCKET_REDIS_MODE),
  WEBSOCKET_REDIS_URL: textVar(defaults.WEBSOCKET_REDIS_URL),
  WEBSOCKET_PUBSUB: oneOfVar(pubsubModes, defaults.WEBSOCKET_PUBSUB),
  WEBSOCKET_CHANNEL_PREFIX: channelPrefixVar(defaults.WEBSOCKET_CHANNEL_PREFIX),
  JWT_ALGORITHM: oneOfVar(jwtAlgorithms, defaults.JWT_ALGORITHM),
  JWT_SECRET_KEY: optionalVar(),
  JWT_PUBLIC_KEY: publicKeyVar(),
  JWT_AUDIENCE: textVar(defaults.JWT_AUDIENCE),
  JWT_ISSUER: textVar(defaults.JWT_ISSUER),
  JWT_CLOCK_TOLERANCE_SECONDS: wholeNumberVar(defaults.JWT_CLOCK_TOLERANCE_SECONDS, 0, 300),
  JWT_MAX_LIFETIME_SECONDS: wholeNumberVar(defaults.JWT_MAX_LIFETIME_SECONDS, 60, 366 * 86_400),
  JWT_MAX_SUBJECT_LENGTH: wholeNumberVar(defaults.JWT_MAX_SUBJECT_LENGTH, 1, 1024),
  JWT_SUBJECT_PATTERN: subjectPatternVar(),
  WEBSOCKET_MAX_CONNECTIONS_PER_USER: wholeNumberVar(
    defaults.WEBSOCKET_MAX_CONNECTIONS_PER_USER,
    1,
    10_000,
  ),
  WEBSOCKET_PING_INTERVAL: millisecondsVar(defaults.WEBSOCKET_PING_INTERVAL, 0.1, 3600),
  WEBSOCKET_ALLOWED_ORIGINS: originsVar(),
  WEBSOCKET_MAX_PAYLOAD_BYTES: wholeNumberVar(
    defaults.WEBSOCKET_MAX_PAYLOAD_BYTES,
    16,
    16 * 1024 * 1024,
  ),
  WEBSOCKET_MAX_BUFFERED_BYTES: wholeNumberVar(
    defaults.WEBSOCKET_MAX_BUFFERED_BYTES,
    1024,
    1024 * 1024 * 1024,
  ),
  WEBSOCKET_INBOUND_BURST: wholeNumberVar(defaults.WEBSOCKET_INBOUND_BURST, 1, 1_000_000),
  WEBSOCKET_INBOUND_RATE_PER_SECOND: wholeNumberVar(
    defaults.WEBSOCKET_INBOUND_RATE_PER_SECOND,
    1,
    1_000_000,
  ),
  WEBSOCKET_REQUEST_TIMEOUT_SECONDS: millisecondsVar(
    defaults.WEBSOCKET_REQUEST_TIMEOUT_SECONDS,
    0.1,
    300,
  ),
  WEBSOCKET_MAX_CONNECTIONS: wholeNumberVar(defaults.WEBSOCKET_MAX_CONNECTIONS, 1, 10_000_000),
  WEBSOCKET_MAX_TCP_CONNECTIONS: wholeNumberVar(
    defaults.WEBSOCKET_MAX_TCP_CONNECTIONS,
    2,
    10_000_000,
  ),
  WEBSOCKET_MAX_CONNECTIONS_PER_ADDRESS: wholeNumberVar(
    defaults.WEBSOCKET_MAX_CONNECTIONS_PER_ADDRESS,
    1,
    10_000_000,
  ),
  WEBSOCKET_HANDSHAKE_BURST: wholeNumberVar(defaults.WEBSOCKET_HANDSHAKE_BURST, 1, 10_000_000),
  WEBSOCKET_HANDSHAKE_RATE_PER_SECOND: wholeNumberVar(
    defaults.WEBSOCKET_HANDSHAKE_RATE_PER_SECOND,
    1,
    10_000_000,
  ),
  WEBSOCKET_TRUSTED_PROXIES: trustedProxiesVar(),
  WEBSOCKET_REVOCATION_TIMEOUT_SECONDS: millisecondsVar(
    defaults.WEBSOCKET_REVOCATION_TIMEOUT_SECONDS,
    0.05,
    30,
  ),
  WEBSOCKET_SHUTDOWN_GRACE_SECONDS: millisecondsVar(
    defaults.WEBSOCKET_SHUTDOWN_GRACE_SECONDS,
    0,
    3600,
  ),
  LOG_LEVEL: oneOfVar(logLevels, defaults.LOG_LEVEL),
  WEBSOCKET_WORKERS: workersVar(defaults.WEBSOCKET_WORKERS),
  WEBSOCKET_HISTORY: oneOfVar(historyModes, defaults.WEBSOCKET_HISTORY),
  WEBSOCKET_REPLAY_MAX_MESSAGES: wholeNumberVar(defaults.WEBSOCKET_REPLAY_MAX_MESSAGES, 1, 10_000),
  WEBSOCKET_RECENT_MAX: wholeNumberVar(defaults.WEBSOCKET_RECENT_MAX, 0, 10_000),
  WEBSOCKET_HISTORY_READ_CONCURRENCY: wholeNumberVar(
    defaults.WEBSOCKET_HISTORY_READ_CONCURRENCY,
    1,
    10_000,
  ),
  WEBSOCKET_HISTORY_READ_TIMEOUT_MS: wholeNumberVar(
    defaults.WEBSOCKET_HISTORY_READ_TIMEOUT_MS,
    10,
    600_000,
  ),
});

/**
 * The service's environment as one zod schema: every variable (see the README's table) checked
 * on its own, then the rules between variables (key material for the pinned algorithm, Redis
 * URLs for the Redis mode). Every problem is an issue whose path is the variable's name; the
 * output is {@link Settings}.
 */
export const envSchema = variables
  // Runs even when single variables failed, so one start reports every problem.
  .superRefine(crossVariableRules, { when: () => true })
  .transform(
    (env): Settings => ({
      port: env.WEBSOCKET_SERVICE_PORT,
      host: env.WEBSOCKET_SERVICE_HOST,
      redis: redisSettings(env.WEBSOCKET_REDIS_MODE, env.WEBSOCKET_REDIS_URL),
      pubsub: env.WEBSOCKET_PUBSUB,
      channelPrefix: env.WEBSOCKET_CHANNEL_PREFIX,
      jwt: {
        algorithm: env.JWT_ALGORITHM,
        ...(env.JWT_ALGORITHM.startsWith('HS')
          ? { secret: env.JWT_SECRET_KEY! }
          : { publicKey: env.JWT_PUBLIC_KEY! }),
        audience: env.JWT_AUDIENCE,
        issuer: env.JWT_ISSUER,
        clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
        maxLifetimeSeconds: env.JWT_MAX_LIFETIME_SECONDS,
        maxSubjectLength: env.JWT_MAX_SUBJECT_LENGTH,
        subjectPattern: env.JWT_SUBJECT_PATTERN ?? DEFAULT_SUBJECT_PATTERN,
      },
      maxConnectionsPerUser: env.WEBSOCKET_MAX_CONNECTIONS_PER_USER,
      pingIntervalMs: env.WEBSOCKET_PING_INTERVAL,
      ...(env.WEBSOCKET_ALLOWED_ORIGINS === undefined
        ? {}
        : { allowedOrigins: env.WEBSOCKET_ALLOWED_ORIGINS }),
      maxPayloadBytes: env.WEBSOCKET_MAX_PAYLOAD_BYTES,
      maxBufferedBytes: env.WEBSOCKET_MAX_BUFFERED_BYTES,
      inboundBudget: {
        burst: env.WEBSOCKET_INBOUND_BURST,
        perSecond: env.WEBSOCKET_INBOUND_RATE_PER_SECOND,
      },
      requestTimeoutMs: env.WEBSOCKET_REQUEST_TIMEOUT_SECONDS,
      connectionLimits: {
        maxConnections: env.WEBSOCKET_MAX_CONNECTIONS,
        maxConnectionsPerAddress: env.WEBSOCKET_MAX_CONNECTIONS_PER_ADDRESS,
        handshakes: {
          burst: env.WEBSOCKET_HANDSHAKE_BURST,
          perSecond: env.WEBSOCKET_HANDSHAKE_RATE_PER_SECOND,
        },
      },
      maxTcpConnections: env.WEBSOCKET_MAX_TCP_CONNECTIONS,
      trustedProxies: env.WEBSOCKET_TRUSTED_PROXIES,
      revocationTimeoutMs: env.WEBSOCKET_REVOCATION_TIMEOUT_SECONDS,
      shutdownGraceMs: env.WEBSOCKET_SHUTDOWN_GRACE_SECONDS,
      logLevel: env.LOG_LEVEL,
      workers: env.WEBSOCKET_WORKERS,
      ...(env.WEBSOCKET_HISTORY === 'off'
        ? {}
        : {
            history: {
              replayMaxMessages: env.WEBSOCKET_REPLAY_MAX_MESSAGES,
              recentMax: env.WEBSOCKET_RECENT_MAX,
              readConcurrency: env.WEBSOCKET_HISTORY_READ_CONCURRENCY,
              readTimeoutMs: env.WEBSOCKET_HISTORY_READ_TIMEOUT_MS,
            },
          }),
    }),
  );

/** The variables as {@link envSchema} has read them, before they become {@link Settings}. */
type ParsedEnv = z.output<typeof variables>;

/**
 * The rules between variables. A variable that failed its own check holds its raw text here, so
 * each rule first asks whether the values it depends on are usable.
 */
function crossVariableRules(env: ParsedEnv, context: z.RefinementCtx): void {
  const fail = (variable: string, message: string) =>
    context.addIssue({ code: 'custom', path: [variable], message });
  const algorithm = env.JWT_ALGORITHM as string | undefined;
  const known = (jwtAlgorithms as readonly unknown[]).includes(algorithm);
  const secretGiven = env.JWT_SECRET_KEY !== undefined;
  const publicKeyGiven = env.JWT_PUBLIC_KEY !== undefined;
  // The key material must match the pinned algorithm: a secret for HS*, a public key for RS/ES.
  // With an unusable algorithm and no key at all, the default (HS256) still needs the secret.
  if ((known ? algorithm!.startsWith('HS') : !publicKeyGiven) && !secretGiven) {
    fail(
      'JWT_SECRET_KEY',
      `is required (the service refuses to start without it): expected the identity service's signing secret, got nothing; or set JWT_ALGORITHM to RS256/ES256 with JWT_PUBLIC_KEY`,
    );
  }
  if (known && algorithm!.startsWith('HS') && publicKeyGiven) {
    fail(
      'JWT_PUBLIC_KEY',
      `is set but JWT_ALGORITHM is ${algorithm}, which uses JWT_SECRET_KEY; set JWT_ALGORITHM to RS256 or ES256, or remove JWT_PUBLIC_KEY`,
    );
  }
  if (known && !algorithm!.startsWith('HS') && !publicKeyGiven) {
    fail(
      'JWT_PUBLIC_KEY',
      `is required when JWT_ALGORITHM is ${algorithm}: expected the identity service's PEM public key, got nothing`,
    );
  }
  const sockets = env.WEBSOCKET_MAX_CONNECTIONS as unknown;
  const tcp = env.WEBSOCKET_MAX_TCP_CONNECTIONS as unknown;
  if (typeof sockets === 'number' && typeof tcp === 'number' && sockets >= tcp) {
    fail(
      'WEBSOCKET_MAX_CONNECTIONS',
      `must be below WEBSOCKET_MAX_TCP_CONNECTIONS (${tcp}), got ${sockets}: the room between the two keeps health probes and handshakes answered when the sockets are at their cap`,
    );
  }
  const mode = env.WEBSOCKET_REDIS_MODE as string;
  if ((redisModes as readonly string[]).includes(mode)) {
    for (const problem of redisUrlProblems(mode as RedisMode, env.WEBSOCKET_REDIS_URL)) {
      fail('WEBSOCKET_REDIS_URL', problem);
    }
  }
}

/** The seed URLs in `WEBSOCKET_REDIS_URL`; split only before a scheme, so a comma in a password stays. */
function redisEntries(value: string): string[] {
  return value.split(/,(?=\s*[a-z][a-z0-9+.-]*:\/\/)/i).map((entry) => entry.trim());
}

function redisSettings(mode: RedisMode, value: string): RedisSettings {
  return mode === 'standalone' ? { mode, url: value } : { mode, nodes: redisEntries(value) };
}

/**
 * What is wrong with `WEBSOCKET_REDIS_URL` for `mode`: one URL in standalone mode; in cluster mode
 * a comma-separated list of seed nodes, each reported on its own. Passwords are never echoed.
 */
function redisUrlProblems(mode: RedisMode, value: string): string[] {
  const entries = redisEntries(value);
  if (mode === 'standalone') {
    if (entries.length > 1) {
      return [
        `lists ${entries.length} URLs, but WEBSOCKET_REDIS_MODE is standalone; give one URL, or set WEBSOCKET_REDIS_MODE=cluster to use them as cluster seed nodes`,
      ];
    }
    const problem = redisUrlProblem(value);
    return typeof problem === 'string' ? [problem] : [];
  }
  const problems: string[] = [];
  let first: URL | undefined;
  for (const [index, entry] of entries.entries()) {
    const what = entries.length > 1 ? `seed ${index + 1} (${safeUrl(entry)}): ` : '';
    const url = redisUrlProblem(entry);
    if (typeof url === 'string') {
      problems.push(what + url);
    } else if (!['', '/', '/0'].includes(url.pathname)) {
      problems.push(
        `${what}selects database ${JSON.stringify(url.pathname.slice(1))}, but a Redis Cluster has only database 0; remove the path`,
      );
    } else if (first !== undefined && url.protocol !== first.protocol) {
      problems.push(
        `${what}mixes redis:// and rediss:// seeds; every node of a cluster is reached the same way`,
      );
    } else if (
      first !== undefined &&
      (url.username !== '' || url.password !== '') &&
      (url.username !== first.username || url.password !== first.password)
    ) {
      problems.push(
        `${what}has other credentials than the first seed; the first seed's credentials are used for every node`,
      );
    } else {
      first ??= url;
    }
  }
  return problems;
}

/** One redis:// or rediss:// URL with a host, or what is wrong with it. */
function redisUrlProblem(value: string): URL | string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `expected a URL like redis://host:6379, got ${safeUrl(value)}`;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return `expected a redis:// or rediss:// URL, got scheme ${JSON.stringify(url.protocol)}`;
  }
  if (url.hostname === '') return 'expected a host name, got none';
  return url;
}

/**
 * Reads and validates the service configuration from environment variables with
 * {@link envSchema}. Every bad value produces its own issue; all are returned together so one
 * restart fixes them all. Secrets are never echoed in messages.
 */
export function loadSettings(env: Env): LoadSettingsResult {
  const result = envSchema.safeParse(env);
  if (result.success) return { ok: true, settings: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? '(environment)'),
      message: issue.message,
    })),
  };
}

/** Like {@link loadSettings}, but throws a {@link ConfigError} listing every issue. */
export function settingsFromEnv(env: Env): Settings {
  const result = loadSettings(env);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.settings;
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
