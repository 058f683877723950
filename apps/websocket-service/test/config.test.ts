import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSettings, normalizeOrigin, settingsFromEnv } from '../src/config.js';

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
        redisUrl: 'redis://localhost:6379',
        channelPrefix: 'ws',
        jwt: {
          algorithm: 'HS256',
          secret: SECRET,
          audience: 'huleedu-platform',
          issuer: 'huleedu-identity-service',
          clockToleranceSeconds: 5,
        },
        maxConnectionsPerUser: 5,
        pingIntervalMs: 30_000,
        maxPayloadBytes: 4096,
        shutdownGraceMs: 10_000,
        logLevel: 'info',
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
      WEBSOCKET_SHUTDOWN_GRACE_SECONDS: '2.5',
      LOG_LEVEL: 'debug',
    });
    expect(settings).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      redisUrl: 'rediss://user:pw@redis.internal:6380/2',
      channelPrefix: 'notify',
      jwt: { algorithm: 'HS512', audience: 'aud-x', issuer: 'iss-y', clockToleranceSeconds: 0 },
      maxConnectionsPerUser: 2,
      pingIntervalMs: 500,
      allowedOrigins: ['https://app.huleedu.com', 'http://localhost:5173'],
      maxPayloadBytes: 1024,
      shutdownGraceMs: 2500,
      logLevel: 'debug',
    });
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
      WEBSOCKET_MAX_CONNECTIONS_PER_USER: 'expected a whole number from 1 to 10000, got "0"',
      WEBSOCKET_PING_INTERVAL: 'expected a number of seconds from 0.1 to 3600, got "-1"',
      WEBSOCKET_ALLOWED_ORIGINS: expect.stringContaining(
        '"https://x.example/path" is not an origin',
      ),
      WEBSOCKET_MAX_PAYLOAD_BYTES: 'expected a whole number from 16 to 16777216, got "1e9"',
      WEBSOCKET_SHUTDOWN_GRACE_SECONDS: 'expected a number of seconds from 0 to 3600, got "soon"',
      WEBSOCKET_CHANNEL_PREFIX: expect.stringContaining('must not contain spaces or the glob'),
      JWT_CLOCK_TOLERANCE_SECONDS: 'expected a whole number from 0 to 300, got "1.5"',
      LOG_LEVEL: 'expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    });
    // Both bad origins are reported, each on its own.
    expect(issues.filter((i) => i.variable === 'WEBSOCKET_ALLOWED_ORIGINS')).toHaveLength(2);
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
