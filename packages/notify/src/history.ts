import { createHash, randomBytes } from 'node:crypto';
import { describeIssues, findIssues } from '@huleedu/ws-protocol';
import * as z from 'zod/mini';
import { NotificationValidationError, NotifierError } from './errors.js';

/**
 * Retention of each user's history (a Redis Stream). Every publish applies it to that user's
 * stream, so every publisher of a deployment (backends, the CLI, other languages) should use the
 * same values: the smallest `maxLength` in use is what readers get.
 */
export interface HistoryOptions {
  /** Messages kept per user (exact MAXLEN). Default {@link DEFAULT_HISTORY_MAX_LENGTH}. */
  maxLength?: number;
  /** Seconds a user's history lives after its last message. Default {@link DEFAULT_HISTORY_TTL_SECONDS}. */
  ttlSeconds?: number;
  /** Seconds an idempotency key is remembered. Default {@link DEFAULT_IDEMPOTENCY_TTL_SECONDS}. */
  idempotencyTtlSeconds?: number;
}

/** {@link HistoryOptions} with every default filled in. */
export type HistorySettings = Required<HistoryOptions>;

/**
 * Default {@link HistoryOptions.maxLength}: 100 messages; the Redis memory this costs per user is
 * in the README.
 */
export const DEFAULT_HISTORY_MAX_LENGTH = 100;
/** Default {@link HistoryOptions.ttlSeconds}: 24 h, so a laptop closed overnight still resumes. */
export const DEFAULT_HISTORY_TTL_SECONDS = 86_400;
/** Default {@link HistoryOptions.idempotencyTtlSeconds}: 24 h, longer than any sane retry loop. */
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;

/** Largest {@link HistoryOptions.maxLength}: beyond it one user's history would cost megabytes. */
export const MAX_HISTORY_LENGTH = 10_000;
/** Largest TTL accepted (30 days); a bigger number is most likely milliseconds. */
export const MAX_TTL_SECONDS = 2_592_000;
/** Longest idempotency key accepted. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

const whole = (min: number, max: number, unit = '') => {
  const expected = `a whole number${unit} from ${min} to ${max}`;
  return z.optional(z.int(expected).check(z.gte(min, expected), z.lte(max, expected)));
};

const historyOptionsSchema = z.strictObject(
  {
    maxLength: whole(1, MAX_HISTORY_LENGTH),
    ttlSeconds: whole(1, MAX_TTL_SECONDS, ' of seconds'),
    idempotencyTtlSeconds: whole(1, MAX_TTL_SECONDS, ' of seconds'),
  },
  'an object { maxLength?, ttlSeconds?, idempotencyTtlSeconds? } or false',
);

/**
 * The retention a notifier uses, from its `history` option: `null` when history is off
 * (`false`), the defaults when it is left out. Throws `NotifierError('invalid_options')` naming
 * each bad field, e.g. `history.ttlSeconds: expected a whole number of seconds from 1 to 2592000,
 * got number 86400000`.
 */
export function historySettings(
  option: HistoryOptions | false | undefined,
): HistorySettings | null {
  if (option === false) return null;
  const issues = findIssues(historyOptionsSchema, option ?? {});
  if (issues.length > 0) {
    throw new NotifierError('invalid_options', describeIssues(issues, 'history').join('; '));
  }
  const given = option ?? {};
  return {
    maxLength: given.maxLength ?? DEFAULT_HISTORY_MAX_LENGTH,
    ttlSeconds: given.ttlSeconds ?? DEFAULT_HISTORY_TTL_SECONDS,
    idempotencyTtlSeconds: given.idempotencyTtlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  };
}

/** A new history's epoch: 16 random URL-safe characters (96 bits), as `EPOCH_PATTERN` requires. */
export function newEpoch(): string {
  return randomBytes(12).toString('base64url');
}

const forbiddenInKey = /[\s\p{Cc}]/u;

/**
 * Throws `NotificationValidationError('invalid_idempotency_key')` unless `key` is a usable
 * idempotency key: a string of 1 to 200 characters without whitespace or control characters.
 */
export function assertIdempotencyKey(key: unknown): asserts key is string {
  let problem: string | undefined;
  if (typeof key !== 'string') problem = `expected a string, got ${typeof key}`;
  else if (key.length === 0) problem = 'must not be empty';
  else if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    problem = `too long (${key.length} characters, maximum ${MAX_IDEMPOTENCY_KEY_LENGTH})`;
  } else {
    const bad = forbiddenInKey.exec(key);
    if (bad)
      problem = `contains ${JSON.stringify(bad[0])} (whitespace and control characters are not allowed)`;
  }
  if (problem !== undefined) {
    throw new NotificationValidationError('invalid_idempotency_key', `idempotencyKey ${problem}`);
  }
}

// RFC 4122 name-based ids (version 5) in a namespace of our own, so they never collide with v4 ids.
const MESSAGE_ID_NAMESPACE = Buffer.from('5c3f0e6a8b1d4f2e9a7c6b5d4e3f2a1b', 'hex');

/**
 * The message id of a publish with an idempotency key: a UUID derived from the channel and the
 * key, so a retry carries the same `id` as the first attempt (and a duplicate result reports it).
 */
export function idempotentMessageId(channel: string, key: string): string {
  const hash = createHash('sha1')
    .update(MESSAGE_ID_NAMESPACE)
    .update(`${channel}\n${key}`)
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
