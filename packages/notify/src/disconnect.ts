import { readFileSync } from 'node:fs';
import {
  DISCONNECT_REASON_PATTERN,
  type DisconnectData,
  revocationKey,
  userChannel,
  userCommands,
} from '@huleedu/ws-protocol';
import type { Cluster, Redis } from 'ioredis';
import { NotificationValidationError, NotifierError } from './errors.js';

/** What {@link Notifier.disconnectUser} is told. */
export interface DisconnectOptions {
  /**
   * Why, for the service's log: `logout`, `password_changed`, `account_disabled`, ... (1 to 64 of
   * `A-Z a-z 0-9 _ . : -`).
   */
  reason: string;
  /**
   * Also refuse, from now on, every token issued before this time (a `Date`, or epoch seconds):
   * a handshake with such a token is closed with 1008 `token_revoked`, for as long as such a
   * token could still be valid. Compared with the token's `iat` in whole seconds, so a token
   * issued in the same second (the fresh one handed out right after) is accepted. Usually
   * `new Date()`: log out everywhere, password changed. Not later than a few minutes from now.
   */
  issuedBefore?: Date | number;
}

/**
 * Default of {@link NotifierOptions.maxTokenLifetimeSeconds}: a day, the service's default
 * `JWT_MAX_LIFETIME_SECONDS` (`DEFAULT_MAX_LIFETIME_SECONDS` of `@huleedu/auth`; a service test
 * keeps the two equal).
 */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;

/**
 * Added to the revocation key's TTL: the largest clock tolerance the service accepts
 * (`JWT_CLOCK_TOLERANCE_SECONDS` at most 300), which lets a token live that much past its `exp`.
 * Also how far in the future `issuedBefore` may lie (clocks of two hosts differ).
 */
export const CLOCK_SLACK_SECONDS = 300;

// Shipped in the package (`lua/`), beside `dist/` and `src/`.
const SCRIPT = readFileSync(new URL('../lua/disconnect.lua', import.meta.url), 'utf8');

/** Everything the disconnect script needs for one user, checked. */
export interface DisconnectRequest {
  readonly key: string;
  readonly channel: string;
  /** The `ws.disconnect` command as published. */
  readonly command: string;
  /** Whole epoch seconds, or undefined. */
  readonly issuedBefore: number | undefined;
  /** Seconds the key must live; 0 when no token issued before `issuedBefore` can be valid now. */
  readonly ttlSeconds: number;
}

/**
 * Checks a disconnect and computes the key's TTL: `issuedBefore + maxTokenLifetimeSeconds +`
 * {@link CLOCK_SLACK_SECONDS} from now, the last moment a token issued before it could pass.
 * Throws `NotificationValidationError('invalid_disconnect')` naming what is wrong.
 */
export function disconnectRequest(
  userId: string,
  options: DisconnectOptions,
  settings: { prefix: string; maxTokenLifetimeSeconds: number; now?: number },
): DisconnectRequest {
  const invalid = (message: string) =>
    new NotificationValidationError('invalid_disconnect', `disconnectUser: ${message}`);
  if (typeof options !== 'object' || options === null) {
    throw invalid('expected options { reason, issuedBefore? }');
  }
  const { reason } = options;
  if (typeof reason !== 'string' || !DISCONNECT_REASON_PATTERN.test(reason)) {
    throw invalid(
      `reason must be 1 to 64 of A-Z a-z 0-9 _ . : - (e.g. "logout"), got ${JSON.stringify(reason)}`,
    );
  }
  const nowSeconds = (settings.now ?? Date.now()) / 1000;
  const issuedBefore = issuedBeforeSeconds(options.issuedBefore, nowSeconds, invalid);
  const data: DisconnectData = {
    reason,
    ...(issuedBefore === undefined ? {} : { issued_before: issuedBefore }),
  };
  const ttlSeconds =
    issuedBefore === undefined
      ? 0
      : Math.max(
          0,
          Math.ceil(
            issuedBefore + settings.maxTokenLifetimeSeconds + CLOCK_SLACK_SECONDS - nowSeconds,
          ),
        );
  return {
    key: revocationKey(userId, settings.prefix),
    channel: userChannel(userId, settings.prefix),
    command: JSON.stringify({ event: userCommands.DISCONNECT, data }),
    issuedBefore,
    ttlSeconds,
  };
}

function issuedBeforeSeconds(
  value: Date | number | undefined,
  nowSeconds: number,
  invalid: (message: string) => Error,
): number | undefined {
  if (value === undefined) return undefined;
  const seconds = value instanceof Date ? value.getTime() / 1000 : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw invalid(
      `issuedBefore must be a Date or epoch seconds, got ${value instanceof Date ? 'an invalid Date' : JSON.stringify(value)}`,
    );
  }
  if (seconds > nowSeconds + CLOCK_SLACK_SECONDS) {
    throw invalid(
      `issuedBefore (${new Date(seconds * 1000).toISOString()}) is in the future: fresh tokens would be refused too; to lock an account, stop issuing tokens for it`,
    );
  }
  return Math.floor(seconds);
}

/**
 * Checks `maxTokenLifetimeSeconds` for `createNotifier`: a positive whole number of seconds.
 * Throws `NotifierError('invalid_options')`.
 */
export function checkMaxTokenLifetime(value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new NotifierError(
      'invalid_options',
      `maxTokenLifetimeSeconds must be a whole number of seconds >= 1 (the service's JWT_MAX_LIFETIME_SECONDS), got ${value}`,
    );
  }
  return value;
}

/**
 * Runs the disconnect script (`lua/disconnect.lua`): sets the revocation key (when the request
 * has one) and publishes the command, atomically, in the user's hash slot. Resolves to the
 * number of receivers.
 */
export async function runDisconnect(
  client: Redis | Cluster,
  request: DisconnectRequest,
  mode: 'classic' | 'sharded' | 'both',
): Promise<number> {
  const keep = request.issuedBefore !== undefined && request.ttlSeconds > 0;
  const receivers = await client.eval(
    SCRIPT,
    1,
    request.key,
    request.channel,
    request.command,
    mode,
    keep ? String(request.issuedBefore) : '',
    keep ? String(request.ttlSeconds) : '',
  );
  return Number(receivers);
}
