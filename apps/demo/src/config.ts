import { z } from 'zod';

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

const JWT_SECRET_REQUIRED =
  'required; set it to the same secret the websocket service verifies tokens with';

/** The environment was unusable; `message` names every bad variable and how to fix it. */
export class DemoConfigError extends Error {
  override readonly name = 'DemoConfigError';
  readonly code = 'invalid_config';
}

/** Trimmed text, with a blank value counting as unset (so the default applies). */
function blankIsUnset(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

const text = (fallback: string) => z.preprocess(blankIsUnset, z.string().default(fallback));

const optionalText = z.preprocess(blankIsUnset, z.string().optional());

function integer(fallback: number, min: number, max: number) {
  const error = `expected an integer from ${min} to ${max}`;
  return z.preprocess(
    blankIsUnset,
    z.coerce
      .number({ error })
      .int({ error })
      .min(min, { error })
      .max(max, { error })
      .default(fallback),
  );
}

function url(fallback: string, protocols: readonly string[]) {
  const error = `expected a ${protocols.map((p) => `${p}://`).join(' or ')} URL`;
  return z.preprocess(
    blankIsUnset,
    z.url({ protocol: new RegExp(`^(${protocols.join('|')})$`), error }).default(fallback),
  );
}

/** The demo's environment: each variable's rule and default, and the settings it becomes. */
const demoEnvironment = z
  .object({
    DEMO_HOST: text('127.0.0.1'),
    DEMO_PORT: integer(3000, 0, 65535),
    WEBSOCKET_PUBLIC_URL: url('ws://localhost:8080/ws', ['ws', 'wss']),
    WEBSOCKET_REDIS_URL: url('redis://localhost:6379', ['redis', 'rediss']),
    WEBSOCKET_CHANNEL_PREFIX: text('ws'),
    JWT_SECRET_KEY: z.string({ error: JWT_SECRET_REQUIRED }).min(1, { error: JWT_SECRET_REQUIRED }),
    JWT_AUDIENCE: optionalText,
    JWT_ISSUER: optionalText,
    DEMO_USER_ID: text('teacher-1'),
    DEMO_TOKEN_TTL_SECONDS: integer(900, 10, 86_400),
  })
  .transform(
    (env): DemoConfig => ({
      host: env.DEMO_HOST,
      port: env.DEMO_PORT,
      publicWebSocketUrl: env.WEBSOCKET_PUBLIC_URL,
      redisUrl: env.WEBSOCKET_REDIS_URL,
      channelPrefix: env.WEBSOCKET_CHANNEL_PREFIX,
      jwtSecret: env.JWT_SECRET_KEY,
      audience: env.JWT_AUDIENCE,
      issuer: env.JWT_ISSUER,
      userId: env.DEMO_USER_ID,
      tokenTtlSeconds: env.DEMO_TOKEN_TTL_SECONDS,
    }),
  );

/** Reads and validates the demo's settings; throws {@link DemoConfigError} listing every problem. */
export function loadConfig(env: Record<string, string | undefined>): DemoConfig {
  const parsed = demoEnvironment.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    const raw = env[name];
    return raw === undefined || raw === ''
      ? `${name}: ${issue.message}`
      : `${name}=${raw}: ${issue.message}`;
  });
  throw new DemoConfigError(`invalid demo configuration:\n  ${problems.join('\n  ')}`);
}
