import { generateKeyPairSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { DEFAULT_SUBJECT_PATTERN } from '@huleedu/auth';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadSettings,
  MAX_WORKERS,
  normalizeOrigin,
  settingsFromEnv,
} from '../src/config.js';
import {
  defaultMaxConnections,
  defaultMaxTcpConnections,
  openFileLimit,
} from '../src/limits/connection-budget.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';

function issuesOf(env: Record<string, string>) {
  const result = loadSettings(env);
  if (result.ok) throw new Error('expected invalid settings');
  return result.issues;
}

describe('loadSettings', () => {
  it('applies the documented defaults when only the secret is given', () => {
    const result = loadSettings({ JWT_SECRET_KEY: SECRET });
    expect(result).toEqual({
      ok: true,
      settings: {
        port: 8080,
        host: '0.0.0.0',
        redis: { mode: 'standalone', url: 'redis://localhost:6379' },
        pubsub: 'classic',
        channelPrefix: 'ws',
        jwt: {
          algorithm: 'HS256',
          secret: SECRET,
          audience: 'huleedu-platform',
          issuer: 'huleedu-identity-service',
          clockToleranceSeconds: 5,
          maxLifetimeSeconds: 86_400,
          maxSubjectLength: 128,
          subjectPattern: DEFAULT_SUBJECT_PATTERN,
        },
        maxConnectionsPerUser: 5,
        pingIntervalMs: 30_000,
        maxPayloadBytes: 4096,
        maxBufferedBytes: 1_048_576,
        inboundBudget: { burst: 20, perSecond: 5 },
        requestTimeoutMs: 5_000,
        connectionLimits: {
          maxConnections: defaultMaxConnections(),
          maxConnectionsPerAddress: 2000,
          handshakes: { burst: 1000, perSecond: 200 },
        },
        maxTcpConnections: defaultMaxTcpConnections(),
        trustedProxies: [],
        revocationTimeoutMs: 1_000,
        shutdownGraceMs: 10_000,
        logLevel: 'info',
        workers: 1,
        history: {
          replayMaxMessages: 2000,
          recentMax: 50,
          readConcurrency: 64,
          readTimeoutMs: 5000,
        },
      },
    });
  });

  it('reads every variable', () => {
    const settings = settingsFromEnv({
      JWT_SECRET_KEY: SECRET,
      JWT_ALGORITHM: 'HS512',
      JWT_AUDIENCE: 'aud-x',
      JWT_ISSUER: 'iss-y',
      JWT_CLOCK_TOLERANCE_SECONDS: '0',
      WEBSOCKET_SERVICE_PORT: '0',
      WEBSOCKET_SERVICE_HOST: '127.0.0.1',
      WEBSOCKET_REDIS_URL: 'rediss://user:pw@redis.internal:6380/2',
      WEBSOCKET_CHANNEL_PREFIX: 'notify',
      WEBSOCKET_MAX_CONNECTIONS_PER_USER: '2',
      WEBSOCKET_PING_INTERVAL: '0.5',
      WEBSOCKET_ALLOWED_ORIGINS: 'https://app.huleedu.com, http://localhost:5173/',
      WEBSOCKET_MAX_PAYLOAD_BYTES: '1024',
      WEBSOCKET_MAX_BUFFERED_BYTES: '65536',
      WEBSOCKET_INBOUND_BURST: '40',
      WEBSOCKET_INBOUND_RATE_PER_SECOND: '10',
      WEBSOCKET_REQUEST_TIMEOUT_SECONDS: '2.5',
      JWT_MAX_LIFETIME_SECONDS: '3600',
      JWT_MAX_SUBJECT_LENGTH: '36',
      JWT_SUBJECT_PATTERN: '[0-9a-f-]{36}',
      WEBSOCKET_MAX_CONNECTIONS: '5000',
      WEBSOCKET_MAX_CONNECTIONS_PER_ADDRESS: '100',
      WEBSOCKET_HANDSHAKE_BURST: '50',
      WEBSOCKET_HANDSHAKE_RATE_PER_SECOND: '10',
      WEBSOCKET_TRUSTED_PROXIES: '10.0.0.100, 10.0.0.101',
      WEBSOCKET_MAX_TCP_CONNECTIONS: '6000',
      WEBSOCKET_REVOCATION_TIMEOUT_SECONDS: '0.25',
      WEBSOCKET_SHUTDOWN_GRACE_SECONDS: '2.5',
      LOG_LEVEL: 'debug',
      WEBSOCKET_REPLAY_MAX_MESSAGES: '250',
      WEBSOCKET_RECENT_MAX: '20',
      WEBSOCKET_HISTORY_READ_CONCURRENCY: '8',
      WEBSOCKET_HISTORY_READ_TIMEOUT_MS: '750',
    });
    expect(settings).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      redis: { mode: 'standalone', url: 'rediss://user:pw@redis.internal:6380/2' },
      channelPrefix: 'notify',
      jwt: {
        algorithm: 'HS512',
        audience: 'aud-x',
        issuer: 'iss-y',
        clockToleranceSeconds: 0,
        maxLifetimeSeconds: 3600,
        maxSubjectLength: 36,
      },
      inboundBudget: { burst: 40, perSecond: 10 },
      connectionLimits: {
        maxConnections: 5000,
        maxConnectionsPerAddress: 100,
        handshakes: { burst: 50, perSecond: 10 },
      },
      trustedProxies: ['10.0.0.100', '10.0.0.101'],
      maxTcpConnections: 6000,
      revocationTimeoutMs: 250,
      requestTimeoutMs: 2500,
      maxConnectionsPerUser: 2,
      pingIntervalMs: 500,
      allowedOrigins: ['https://app.huleedu.com', 'http://localhost:5173'],
      maxPayloadBytes: 1024,
      maxBufferedBytes: 65536,
      shutdownGraceMs: 2500,
      logLevel: 'debug',
      history: { replayMaxMessages: 250, recentMax: 20, readConcurrency: 8, readTimeoutMs: 750 },
    });
    // The pattern must match the whole subject: anchors are implied.
    expect(settings.jwt.subjectPattern.test('0b6f8f2e-6b1a-4c55-9d0e-2f1c9a7b3e41')).toBe(true);
    expect(settings.jwt.subjectPattern.test('x0b6f8f2e-6b1a-4c55-9d0e-2f1c9a7b3e41')).toBe(false);
  });

  it('names a trusted proxy that is not an IP address', () => {
    expect(
      issuesOf({ JWT_SECRET_KEY: SECRET, WEBSOCKET_TRUSTED_PROXIES: '10.0.0.1, lb.internal' }),
    ).toEqual([
      {
        variable: 'WEBSOCKET_TRUSTED_PROXIES',
        message: 'expected IP addresses separated by commas, got "lb.internal"',
      },
    ]);
  });

  it('names a subject pattern that does not compile', () => {
    expect(issuesOf({ JWT_SECRET_KEY: SECRET, JWT_SUBJECT_PATTERN: '[a-z' })).toEqual([
      {
        variable: 'JWT_SUBJECT_PATTERN',
        message: expect.stringMatching(/^expected a regular expression, got "\[a-z" \(/),
      },
    ]);
  });

  it('refuses to start without JWT_SECRET_KEY', () => {
    expect(issuesOf({})).toEqual([
      { variable: 'JWT_SECRET_KEY', message: expect.stringContaining('is required') },
    ]);
    // Blank counts as missing.
    expect(issuesOf({ JWT_SECRET_KEY: '   ' })[0]?.variable).toBe('JWT_SECRET_KEY');
  });

  it('reports every bad value at once, each with its own message', () => {
    const issues = issuesOf({
      WEBSOCKET_SERVICE_PORT: 'eighty',
      WEBSOCKET_REDIS_URL: 'http://localhost:6379',
      JWT_ALGORITHM: 'none',
      WEBSOCKET_MAX_CONNECTIONS_PER_USER: '0',
      WEBSOCKET_PING_INTERVAL: '-1',
      WEBSOCKET_ALLOWED_ORIGINS: 'https://ok.example, not an origin, https://x.example/path',
      WEBSOCKET_MAX_PAYLOAD_BYTES: '1e9',
      WEBSOCKET_MAX_BUFFERED_BYTES: '512',
      WEBSOCKET_SHUTDOWN_GRACE_SECONDS: 'soon',
      WEBSOCKET_CHANNEL_PREFIX: 'ws*',
      JWT_CLOCK_TOLERANCE_SECONDS: '1.5',
      LOG_LEVEL: 'verbose',
    });
    const byVariable = Object.fromEntries(issues.map((i) => [i.variable, i.message]));
    expect(byVariable).toEqual({
      WEBSOCKET_SERVICE_PORT: 'expected a whole number from 0 to 65535, got "eighty"',
      WEBSOCKET_REDIS_URL: 'expected a redis:// or rediss:// URL, got scheme "http:"',
      JWT_ALGORITHM: 'expected one of HS256, HS384, HS512, RS256, ES256, got "none"',
      // Missing too: the old hand-written parser skipped this rule once the algorithm was bad.
      JWT_SECRET_KEY: expect.stringContaining('is required'),
      WEBSOCKET_MAX_CONNECTIONS_PER_USER: 'expected a whole number from 1 to 10000, got "0"',
      WEBSOCKET_PING_INTERVAL: 'expected a number of seconds from 0.1 to 3600, got "-1"',
      WEBSOCKET_ALLOWED_ORIGINS: expect.stringContaining(
        '"https://x.example/path" is not an origin',
      ),
      WEBSOCKET_MAX_PAYLOAD_BYTES: 'expected a whole number from 16 to 16777216, got "1e9"',
      WEBSOCKET_MAX_BUFFERED_BYTES: 'expected a whole number from 1024 to 1073741824, got "512"',
      WEBSOCKET_SHUTDOWN_GRACE_SECONDS: 'expected a number of seconds from 0 to 3600, got "soon"',
      WEBSOCKET_CHANNEL_PREFIX: expect.stringContaining('must not contain spaces or the glob'),
      JWT_CLOCK_TOLERANCE_SECONDS: 'expected a whole number from 0 to 300, got "1.5"',
      LOG_LEVEL: 'expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    });
    // Both bad origins are reported, each on its own.
    expect(issues.filter((i) => i.variable === 'WEBSOCKET_ALLOWED_ORIGINS')).toHaveLength(2);
  });

  it('lists the missing secret even when the algorithm itself is bad, with every other problem', () => {
    const issues = issuesOf({
      WEBSOCKET_SERVICE_PORT: '99999',
      WEBSOCKET_REDIS_URL: 'redis//localhost',
      JWT_ALGORITHM: 'none',
    });
    expect(issues).toEqual([
      {
        variable: 'WEBSOCKET_SERVICE_PORT',
        message: 'expected a whole number from 0 to 65535, got "99999"',
      },
      {
        variable: 'JWT_ALGORITHM',
        message: 'expected one of HS256, HS384, HS512, RS256, ES256, got "none"',
      },
      {
        variable: 'JWT_SECRET_KEY',
        message: expect.stringContaining('is required (the service refuses to start without it)'),
      },
      {
        variable: 'WEBSOCKET_REDIS_URL',
        message: 'expected a URL like redis://host:6379, got "redis//localhost"',
      },
    ]);
    // With a public key and a bad algorithm, the secret is not demanded: the key says RS/ES.
    const withKey = issuesOf({ JWT_ALGORITHM: 'RS512', JWT_PUBLIC_KEY: 'not a key' });
    expect(withKey.map((i) => i.variable)).toEqual(['JWT_ALGORITHM', 'JWT_PUBLIC_KEY']);
  });

  it('never echoes the secret or a Redis password in a message', () => {
    const error = (() => {
      try {
        settingsFromEnv({
          JWT_SECRET_KEY: 'super-secret-value',
          JWT_PUBLIC_KEY: 'also-secret-garbage',
          WEBSOCKET_REDIS_URL: 'redis://u:hunter2@',
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const text = JSON.stringify({
      message: (error as ConfigError).message,
      issues: (error as ConfigError).issues,
    });
    expect((error as ConfigError).code).toBe('invalid_config');
    expect(text).not.toContain('super-secret-value');
    expect(text).not.toContain('also-secret-garbage');
    expect(text).not.toContain('hunter2');
  });

  it('accepts RS256 with a PEM public key instead of a secret', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const settings = settingsFromEnv({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: pem });
    expect(settings.jwt).toEqual({
      algorithm: 'RS256',
      publicKey: pem.trim(),
      audience: 'huleedu-platform',
      issuer: 'huleedu-identity-service',
      clockToleranceSeconds: 5,
      maxLifetimeSeconds: 86_400,
      maxSubjectLength: 128,
      subjectPattern: DEFAULT_SUBJECT_PATTERN,
    });
    // Containers often carry the newlines as literal "\n".
    const escaped = pem.trim().replaceAll('\n', '\\n');
    expect(settingsFromEnv({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: escaped }).jwt.publicKey).toBe(
      pem.trim(),
    );
  });

  it('insists the key material matches the pinned algorithm', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(issuesOf({ JWT_ALGORITHM: 'ES256' })).toEqual([
      {
        variable: 'JWT_PUBLIC_KEY',
        message: expect.stringContaining('is required when JWT_ALGORITHM is ES256'),
      },
    ]);
    expect(issuesOf({ JWT_SECRET_KEY: SECRET, JWT_PUBLIC_KEY: pem })).toEqual([
      { variable: 'JWT_PUBLIC_KEY', message: expect.stringContaining('JWT_ALGORITHM is HS256') },
    ]);
    expect(issuesOf({ JWT_ALGORITHM: 'ES256', JWT_PUBLIC_KEY: 'not a key' })).toEqual([
      { variable: 'JWT_PUBLIC_KEY', message: expect.stringContaining('is not a PEM public key') },
    ]);
  });

  it('treats "*" or an empty list as any origin', () => {
    expect(
      settingsFromEnv({ JWT_SECRET_KEY: SECRET, WEBSOCKET_ALLOWED_ORIGINS: '*' }).allowedOrigins,
    ).toBeUndefined();
    expect(
      settingsFromEnv({ JWT_SECRET_KEY: SECRET, WEBSOCKET_ALLOWED_ORIGINS: ' , ' }).allowedOrigins,
    ).toBeUndefined();
  });
});

describe('WEBSOCKET_WORKERS', () => {
  const workers = (value: string) =>
    loadSettings({ JWT_SECRET_KEY: SECRET, WEBSOCKET_WORKERS: value });

  it('is one process unless set, and blank means the default', () => {
    expect(settingsFromEnv({ JWT_SECRET_KEY: SECRET }).workers).toBe(1);
    expect(settingsFromEnv({ JWT_SECRET_KEY: SECRET, WEBSOCKET_WORKERS: ' ' }).workers).toBe(1);
  });

  it('takes a positive whole number, or auto for one worker per CPU core', () => {
    expect(workers('6')).toMatchObject({ ok: true, settings: { workers: 6 } });
    expect(workers(' 3 ')).toMatchObject({ ok: true, settings: { workers: 3 } });
    expect(workers(String(MAX_WORKERS))).toMatchObject({ ok: true, settings: { workers: 128 } });
    for (const auto of ['auto', 'AUTO']) {
      expect(workers(auto)).toMatchObject({
        ok: true,
        settings: { workers: Math.min(availableParallelism(), MAX_WORKERS) },
      });
    }
  });

  it('refuses anything else with a message naming the allowed values', () => {
    for (const bad of ['0', '-2', '2.5', 'four', '1e3', '129', '0x4', 'auto,2']) {
      const issues = issuesOf({ JWT_SECRET_KEY: SECRET, WEBSOCKET_WORKERS: bad });
      expect(issues, bad).toEqual([
        {
          variable: 'WEBSOCKET_WORKERS',
          message: `expected a whole number of worker processes from 1 to 128, or "auto" (one per CPU core: ${availableParallelism()} here), got ${JSON.stringify(bad)}`,
        },
      ]);
    }
  });
});

describe('normalizeOrigin', () => {
  it('canonicalizes scheme, host case and default ports', () => {
    expect(normalizeOrigin('HTTPS://App.HuleEdu.com:443')).toBe('https://app.huleedu.com');
    expect(normalizeOrigin('http://localhost:5173/')).toBe('http://localhost:5173');
  });

  it('rejects things that are not a bare http(s) origin', () => {
    expect(normalizeOrigin('null')).toBeUndefined();
    expect(normalizeOrigin('file:///tmp/x.html')).toBeUndefined();
    expect(normalizeOrigin('https://a.example/path')).toBeUndefined();
    expect(normalizeOrigin('https://user:pw@a.example')).toBeUndefined();
  });
});

describe('Redis mode and pub/sub mode', () => {
  const load = (env: Record<string, string>) => settingsFromEnv({ JWT_SECRET_KEY: SECRET, ...env });

  it('reads a cluster seed list from WEBSOCKET_REDIS_URL in cluster mode', () => {
    const settings = load({
      WEBSOCKET_REDIS_MODE: 'cluster',
      WEBSOCKET_REDIS_URL: 'redis://10.0.0.1:7000, redis://10.0.0.2:7000,redis://10.0.0.3',
      WEBSOCKET_PUBSUB: 'sharded',
    });
    expect(settings.redis).toEqual({
      mode: 'cluster',
      nodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000', 'redis://10.0.0.3'],
    });
    expect(settings.pubsub).toBe('sharded');
    // One seed is enough; the default URL is the default seed.
    expect(load({ WEBSOCKET_REDIS_MODE: 'cluster' }).redis).toEqual({
      mode: 'cluster',
      nodes: ['redis://localhost:6379'],
    });
    // Database 0 is allowed in a seed; credentials repeated on later seeds are fine.
    expect(
      load({
        WEBSOCKET_REDIS_MODE: 'cluster',
        WEBSOCKET_REDIS_URL: 'rediss://u:p@a:1/0,rediss://u:p@b:2,rediss://c:3',
      }).redis,
    ).toEqual({
      mode: 'cluster',
      nodes: ['rediss://u:p@a:1/0', 'rediss://u:p@b:2', 'rediss://c:3'],
    });
  });

  it('allows sharded pub/sub on a standalone Redis and classic pub/sub on a cluster', () => {
    expect(load({ WEBSOCKET_PUBSUB: 'sharded' })).toMatchObject({
      redis: { mode: 'standalone' },
      pubsub: 'sharded',
    });
    expect(load({ WEBSOCKET_REDIS_MODE: 'cluster' })).toMatchObject({
      redis: { mode: 'cluster' },
      pubsub: 'classic',
    });
  });

  it('keeps a comma inside a standalone password as part of the URL', () => {
    expect(load({ WEBSOCKET_REDIS_URL: 'redis://:pa,ss@redis:6379' }).redis).toEqual({
      mode: 'standalone',
      url: 'redis://:pa,ss@redis:6379',
    });
  });

  it('names the allowed values of both modes', () => {
    const byVariable = Object.fromEntries(
      issuesOf({
        JWT_SECRET_KEY: SECRET,
        WEBSOCKET_REDIS_MODE: 'sentinel',
        WEBSOCKET_PUBSUB: 'spublish',
      }).map((i) => [i.variable, i.message]),
    );
    // A bad mode is reported once; the URL is not judged against a mode that does not exist.
    expect(byVariable).toEqual({
      WEBSOCKET_REDIS_MODE: 'expected one of standalone, cluster, got "sentinel"',
      WEBSOCKET_PUBSUB: 'expected one of classic, sharded, got "spublish"',
    });
  });

  it('refuses a seed list in standalone mode, saying how to fix it', () => {
    expect(
      issuesOf({ JWT_SECRET_KEY: SECRET, WEBSOCKET_REDIS_URL: 'redis://a:1,redis://b:2' }),
    ).toEqual([
      {
        variable: 'WEBSOCKET_REDIS_URL',
        message: expect.stringContaining(
          'lists 2 URLs, but WEBSOCKET_REDIS_MODE is standalone; give one URL, or set WEBSOCKET_REDIS_MODE=cluster',
        ),
      },
    ]);
  });

  it('reports every bad seed on its own, without echoing a password', () => {
    const issues = issuesOf({
      JWT_SECRET_KEY: SECRET,
      WEBSOCKET_REDIS_MODE: 'cluster',
      WEBSOCKET_REDIS_URL:
        'redis://:s3cret@a:1,http://b:2,redis://c:3/4,rediss://d:4,redis://:other@e:5,redis://',
    });
    expect(issues.map((i) => i.message)).toEqual([
      'seed 2 ("http://b:2"): expected a redis:// or rediss:// URL, got scheme "http:"',
      'seed 3 ("redis://c:3/4"): selects database "4", but a Redis Cluster has only database 0; remove the path',
      'seed 4 ("rediss://d:4"): mixes redis:// and rediss:// seeds; every node of a cluster is reached the same way',
      `seed 5 ("redis://:***@e:5"): has other credentials than the first seed; the first seed's credentials are used for every node`,
      'seed 6 ("redis://"): expected a host name, got none',
    ]);
    expect(issues.every((i) => i.variable === 'WEBSOCKET_REDIS_URL')).toBe(true);
    expect(JSON.stringify(issues)).not.toContain('s3cret');
    expect(JSON.stringify(issues)).not.toContain('other@');
  });
});

describe('WEBSOCKET_HISTORY', () => {
  it('is on unless turned off; off leaves no history settings (live delivery only)', () => {
    expect(settingsFromEnv({ JWT_SECRET_KEY: SECRET }).history).toBeDefined();
    expect(settingsFromEnv({ JWT_SECRET_KEY: SECRET, WEBSOCKET_HISTORY: 'on' }).history).toEqual({
      replayMaxMessages: 2000,
      recentMax: 50,
      readConcurrency: 64,
      readTimeoutMs: 5000,
    });
    const off = settingsFromEnv({
      JWT_SECRET_KEY: SECRET,
      WEBSOCKET_HISTORY: 'off',
      WEBSOCKET_REPLAY_MAX_MESSAGES: '10',
    });
    expect(off.history).toBeUndefined();
  });

  it('names each bad history setting with what it accepts', () => {
    const issues = issuesOf({
      JWT_SECRET_KEY: SECRET,
      WEBSOCKET_HISTORY: 'yes',
      WEBSOCKET_REPLAY_MAX_MESSAGES: '0',
      WEBSOCKET_RECENT_MAX: '-1',
      WEBSOCKET_HISTORY_READ_CONCURRENCY: 'many',
      WEBSOCKET_HISTORY_READ_TIMEOUT_MS: '2.5',
    });
    expect(issues).toEqual([
      { variable: 'WEBSOCKET_HISTORY', message: 'expected one of on, off, got "yes"' },
      {
        variable: 'WEBSOCKET_REPLAY_MAX_MESSAGES',
        message: 'expected a whole number from 1 to 10000, got "0"',
      },
      {
        variable: 'WEBSOCKET_RECENT_MAX',
        message: 'expected a whole number from 0 to 10000, got "-1"',
      },
      {
        variable: 'WEBSOCKET_HISTORY_READ_CONCURRENCY',
        message: 'expected a whole number from 1 to 10000, got "many"',
      },
      {
        variable: 'WEBSOCKET_HISTORY_READ_TIMEOUT_MS',
        message: 'expected a whole number from 10 to 600000, got "2.5"',
      },
    ]);
  });
});

describe('descriptor limits and revocation reads', () => {
  it('derives both connection caps from the open-file limit, the TCP one above the WebSocket one', () => {
    const limit = openFileLimit();
    expect(limit).toBeGreaterThan(0);
    expect(defaultMaxConnections()).toBe(Math.max(64, limit! - 1024));
    expect(defaultMaxTcpConnections()).toBe(Math.max(128, limit! - 128));
    expect(defaultMaxTcpConnections()).toBeGreaterThan(defaultMaxConnections());
  });

  it('keeps WEBSOCKET_MAX_CONNECTIONS below WEBSOCKET_MAX_TCP_CONNECTIONS', () => {
    expect(
      issuesOf({
        JWT_SECRET_KEY: SECRET,
        WEBSOCKET_MAX_CONNECTIONS: '500',
        WEBSOCKET_MAX_TCP_CONNECTIONS: '500',
      }),
    ).toEqual([
      {
        variable: 'WEBSOCKET_MAX_CONNECTIONS',
        message: expect.stringContaining(
          'must be below WEBSOCKET_MAX_TCP_CONNECTIONS (500), got 500',
        ),
      },
    ]);
  });

  it('bounds the revocation read timeout', () => {
    expect(issuesOf({ JWT_SECRET_KEY: SECRET, WEBSOCKET_REVOCATION_TIMEOUT_SECONDS: '0' })).toEqual(
      [
        {
          variable: 'WEBSOCKET_REVOCATION_TIMEOUT_SECONDS',
          message: 'expected a number of seconds from 0.05 to 30, got "0"',
        },
      ],
    );
  });
});
