import { createSecretKey, type KeyObject } from 'node:crypto';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '@huleedu/auth';
import { DEFAULT_CHANNEL_PREFIX } from '@huleedu/ws-protocol';
import jwt from 'jsonwebtoken';

/**
 * Settings of the two baseline servers, read from the same environment variables as the service
 * so the bench starts all three the same way.
 */
export interface BaselineSettings {
  port: number;
  host: string;
  redisUrl: string;
  channelPrefix: string;
  /** Checks a token like the service does (HS256 pinned, aud, iss, exp) and returns `sub`. */
  verify(token: unknown): string;
}

/** Reads the baseline settings; exits the process with a clear message when one is missing. */
export function readBaselineSettings(env: NodeJS.ProcessEnv = process.env): BaselineSettings {
  const secret = env.JWT_SECRET_KEY;
  const port = Number(env.WEBSOCKET_SERVICE_PORT ?? '8080');
  if (!secret || !Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write('JWT_SECRET_KEY and a valid WEBSOCKET_SERVICE_PORT are required\n');
    process.exit(2);
  }
  // A KeyObject, built once: given a string secret jsonwebtoken re-parses it on every call.
  const key: KeyObject = createSecretKey(Buffer.from(secret, 'utf8'));
  const options = {
    algorithms: ['HS256' as const],
    audience: env.JWT_AUDIENCE ?? DEFAULT_AUDIENCE,
    issuer: env.JWT_ISSUER ?? DEFAULT_ISSUER,
  };
  return {
    port,
    host: env.WEBSOCKET_SERVICE_HOST ?? '127.0.0.1',
    redisUrl: env.WEBSOCKET_REDIS_URL ?? 'redis://127.0.0.1:6379',
    channelPrefix: env.WEBSOCKET_CHANNEL_PREFIX ?? DEFAULT_CHANNEL_PREFIX,
    verify(token) {
      if (typeof token !== 'string' || token === '') throw new Error('token_missing');
      const claims = jwt.verify(token, key, options);
      const sub = typeof claims === 'object' ? claims.sub : undefined;
      if (
        typeof sub !== 'string' ||
        sub === '' ||
        typeof (claims as jwt.JwtPayload).exp !== 'number'
      ) {
        throw new Error('token_claims');
      }
      return sub;
    },
  };
}

/** Prints the line the bench waits for, in the same shape as the service's log line. */
export function announceListening(port: number): void {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
}

/**
 * Exits when the bench that started this server goes away, even if it was killed outright: the
 * bench holds this process's stdin open, and the pipe ends when the bench dies.
 */
export function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
