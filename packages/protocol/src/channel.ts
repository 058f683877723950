/** Prefix of every user's Redis channel unless configured otherwise. */
export const DEFAULT_CHANNEL_PREFIX = 'ws';

/**
 * The Redis channel that carries one user's notifications: `<prefix>:<userId>`.
 * Backends publish on it; every service instance with a socket of that user subscribes to it.
 */
export function userChannel(userId: string, prefix: string = DEFAULT_CHANNEL_PREFIX): string {
  return `${prefix}:${userId}`;
}

/**
 * The user id a channel belongs to, or `undefined` when the channel is not a user channel
 * under `prefix`. The inverse of {@link userChannel}.
 */
export function userIdFromChannel(
  channel: string,
  prefix: string = DEFAULT_CHANNEL_PREFIX,
): string | undefined {
  const head = `${prefix}:`;
  if (!channel.startsWith(head) || channel.length === head.length) return undefined;
  return channel.slice(head.length);
}

/** Longest user id a publisher accepts; real ids are UUIDs or short slugs. */
export const MAX_USER_ID_LENGTH = 256;

// Whitespace and control characters make channel names that logs and redis-cli mangle; glob
// characters (* ? [ ] \) would turn the channel into a pattern for anyone who PSUBSCRIBEs with
// it, so a user id containing them could match (and leak to) other users' channels.
const forbidden = /[\s\p{Cc}*?[\]\\]/u;

/**
 * Why `userId` cannot name a user channel, or `undefined` when it can: the rule every publisher
 * (`@huleedu/notify`) applies. A valid user id is a string of 1 to 256 characters without
 * whitespace, control characters or the glob characters `* ? [ ] \`. Any other character (`:`,
 * `@`, `-`, non-ASCII letters) is fine. The channel prefix follows the same rule.
 */
export function userIdProblem(userId: unknown): string | undefined {
  if (typeof userId !== 'string') return `expected a string, got ${describeType(userId)}`;
  if (userId.length === 0) return 'must not be empty';
  if (userId.length > MAX_USER_ID_LENGTH) {
    return `too long (${userId.length} characters, maximum ${MAX_USER_ID_LENGTH})`;
  }
  const bad = forbidden.exec(userId);
  if (bad)
    return `contains ${JSON.stringify(bad[0])} (whitespace, control and * ? [ ] \\ are not allowed)`;
  return undefined;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/**
 * Why `value` (a user id or the channel prefix) breaks the Redis Cluster hash tag of a user's
 * keys, or `undefined`. The history and revocation keys are `{<prefix>:<userId>}:...`, whose hash
 * tag is the text up to the first `}`: with a `}` inside, they would land in another slot than
 * the channel, and one atomic Redis step could not touch both.
 */
export function hashTagProblem(value: string): string | undefined {
  if (!value.includes('}')) return undefined;
  return `contains "}", which would put the user's keys in another Redis Cluster slot than their channel (history and revocation keys are {<prefix>:<userId>}:history, :meta and :revoked_before)`;
}

/**
 * Why `prefix` cannot be the channel prefix of a service that publishers reach with history and
 * revocation, or `undefined`: {@link userIdProblem}'s rule plus no `}` ({@link hashTagProblem}).
 */
export function channelPrefixProblem(prefix: unknown): string | undefined {
  return userIdProblem(prefix) ?? hashTagProblem(prefix as string);
}

// Probes of the subject-pattern check: each one a user id no publisher accepts (a character
// userIdProblem or hashTagProblem refuses, or one character too many).
const refusedUserIds = [
  ...[' ', '\t', '\n', '\u0000', '\u007f', '*', '?', '[', ']', '\\', '}'].flatMap((c) => [
    c,
    `a${c}`,
    `${c}a`,
    `a${c}a`,
    `1${c}1`,
    `a:${c}`,
  ]),
  'a'.repeat(MAX_USER_ID_LENGTH + 1),
  '1'.repeat(MAX_USER_ID_LENGTH + 1),
];

/**
 * Why a pattern for the token's `sub` (the user id) admits user ids that no publisher can
 * publish to, or `undefined` when none of the probes passes. `test` is called with sample ids
 * that publishers refuse (each character {@link userIdProblem} or {@link hashTagProblem}
 * forbids, at the start, middle and end; an id one character over {@link MAX_USER_ID_LENGTH}),
 * so `.+` or `\S+` is refused. Probes cannot prove a regular expression safe: the service should
 * still check each admitted user id with {@link userIdProblem}.
 */
export function subjectPatternProblem(test: (userId: string) => boolean): string | undefined {
  for (const probe of refusedUserIds) {
    if (test(probe)) {
      return `admits ${JSON.stringify(probe.length > 24 ? `${probe.slice(0, 8)}... (${probe.length} characters)` : probe)}, a user id publishers refuse (${userIdProblem(probe) ?? hashTagProblem(probe)})`;
    }
  }
  return undefined;
}
