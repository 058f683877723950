/** Settings of the demo server, read from the environment by {@link loadConfig}. */
export interface DemoConfig {
  /** DEMO_HOST: interface to bind; default 127.0.0.1 (the demo hands out tokens to anyone who asks). */
  host: string;
  /** DEMO_PORT: default 3000. */
  port: number;
  /** WEBSOCKET_PUBLIC_URL: the service's /ws as the browser reaches it; default ws://localhost:8080/ws. */
  publicWebSocketUrl: string;
  /** WEBSOCKET_REDIS_URL: where notifications are published; default redis://localhost:6379. */
  redisUrl: string;
  /** WEBSOCKET_CHANNEL_PREFIX: must match the service; default ws. */
  channelPrefix: string;
  /** JWT_SECRET_KEY: the secret the service verifies tokens with (required). */
  jwtSecret: string;
  /** JWT_AUDIENCE / JWT_ISSUER: only when the service uses non-default values. */
  audience?: string;
  issuer?: string;
  /** DEMO_USER_ID: the signed-in demo user; default teacher-1. */
  userId: string;
  /** DEMO_TOKEN_TTL_SECONDS: lifetime of the tokens the demo signs; default 900. */
  tokenTtlSeconds: number;
}

/** The environment was unusable; `message` names every bad variable and how to fix it. */
export class DemoConfigError extends Error {
  override readonly name = 'DemoConfigError';
  readonly code = 'invalid_config';
}

/** Reads and validates the demo's settings; throws {@link DemoConfigError} listing every problem. */
export function loadConfig(env: Record<string, string | undefined>): DemoConfig {
  const problems: string[] = [];
  const text = (name: string, fallback: string) => env[name]?.trim() || fallback;
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}=${raw}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const url = (name: string, fallback: string, protocols: string[]) => {
    const value = text(name, fallback);
    let parsed: URL | undefined;
    try {
      parsed = new URL(value);
    } catch {
      // reported below
    }
    if (!parsed || !protocols.includes(parsed.protocol)) {
      problems.push(
        `${name}=${value}: expected a ${protocols.map((p) => `${p}//`).join(' or ')} URL`,
      );
    }
    return value;
  };

  const config: DemoConfig = {
    host: text('DEMO_HOST', '127.0.0.1'),
    port: integer('DEMO_PORT', 3000, 0, 65535),
    publicWebSocketUrl: url('WEBSOCKET_PUBLIC_URL', 'ws://localhost:8080/ws', ['ws:', 'wss:']),
    redisUrl: url('WEBSOCKET_REDIS_URL', 'redis://localhost:6379', ['redis:', 'rediss:']),
    channelPrefix: text('WEBSOCKET_CHANNEL_PREFIX', 'ws'),
    jwtSecret: env.JWT_SECRET_KEY ?? '',
    audience: env.JWT_AUDIENCE?.trim() || undefined,
    issuer: env.JWT_ISSUER?.trim() || undefined,
    userId: text('DEMO_USER_ID', 'teacher-1'),
    tokenTtlSeconds: integer('DEMO_TOKEN_TTL_SECONDS', 900, 10, 86_400),
  };
  if (!config.jwtSecret) {
    problems.push(
      'JWT_SECRET_KEY: required; set it to the same secret the websocket service verifies tokens with',
    );
  }
  if (problems.length > 0) {
    throw new DemoConfigError(`invalid demo configuration:\n  ${problems.join('\n  ')}`);
  }
  return config;
}
