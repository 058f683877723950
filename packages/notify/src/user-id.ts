import { NotificationValidationError, NotifierError } from './errors.js';

/** Longest user id accepted; real ids are UUIDs or short slugs, so anything longer is a bug. */
export const MAX_USER_ID_LENGTH = 256;

// Whitespace and control characters make channel names that logs and redis-cli mangle; glob
// characters (* ? [ ] \) would turn the channel into a pattern for anyone who PSUBSCRIBEs with
// it, so a user id containing them could match (and leak to) other users' channels.
const forbidden = /[\s\p{Cc}*?[\]\\]/u;

/**
 * Why `userId` cannot name a user channel, or `undefined` when it can. A valid user id is a
 * string of 1 to 256 characters without whitespace, control characters or the glob characters
 * `* ? [ ] \`. Any other character (`:`, `@`, `-`, non-ASCII letters) is fine.
 */
export function userIdProblem(userId: unknown): string | undefined {
  if (typeof userId !== 'string') return `expected a string, got ${describeValue(userId)}`;
  if (userId.length === 0) return 'must not be empty';
  if (userId.length > MAX_USER_ID_LENGTH) {
    return `too long (${userId.length} characters, maximum ${MAX_USER_ID_LENGTH})`;
  }
  const bad = forbidden.exec(userId);
  if (bad)
    return `contains ${JSON.stringify(bad[0])} (whitespace, control and * ? [ ] \\ are not allowed)`;
  return undefined;
}

/** Throws `NotificationValidationError('invalid_user_id')` unless `userId` is valid. */
export function assertUserId(userId: unknown): asserts userId is string {
  const problem = userIdProblem(userId);
  if (problem !== undefined) {
    throw new NotificationValidationError('invalid_user_id', `userId ${problem}`);
  }
}

/** Throws `NotifierError('invalid_options')` unless `prefix` is usable as a channel prefix. */
export function assertChannelPrefix(prefix: unknown): asserts prefix is string {
  const problem = userIdProblem(prefix);
  if (problem !== undefined) {
    throw new NotifierError('invalid_options', `channelPrefix ${problem}`);
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/**
 * With history on, throws unless `value` (a user id or the channel prefix) is free of `}`. A user's
 * history keys are `{<prefix>:<userId>}:history` and `:meta`, whose Redis Cluster hash tag is the
 * text up to the first `}`: with a `}` inside, they would land in another slot than the channel,
 * and the one atomic publish step could not touch both. A user id gets `invalid_user_id`, the
 * prefix `invalid_options`.
 */
export function assertHashTagSafe(value: string, what: 'userId' | 'channelPrefix'): void {
  if (!value.includes('}')) return;
  const message = `${what} contains "}", which would put the user's keys in another Redis Cluster slot than their channel (history and revocation keys are {<prefix>:<userId>}:history, :meta and :revoked_before)`;
  if (what === 'userId') throw new NotificationValidationError('invalid_user_id', message);
  throw new NotifierError('invalid_options', message);
}
