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
