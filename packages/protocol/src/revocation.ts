import * as z from 'zod/mini';
import { DEFAULT_CHANNEL_PREFIX, userChannel } from './channel.js';
import { count, matching } from './fields.js';

/**
 * Cutting a user off: the shared contract of `disconnectUser` (`@huleedu/notify`, or any language
 * doing the same two Redis steps) and the service.
 *
 * 1. With an `issued_before` time, the key {@link revocationKey} holds it (epoch seconds), for as
 *    long as a token issued before it could still be valid: the service refuses every handshake
 *    whose token's `iat` is earlier (1008 `token_revoked`).
 * 2. The {@link userCommands.DISCONNECT} message, published on the user's own channel, reaches
 *    exactly the instances that hold a socket of that user (standalone, cluster classic or sharded
 *    pub/sub alike); each closes every socket of the user with 1008 `token_revoked`. The service
 *    recognises the event name and never forwards the message to a browser.
 *
 * The key sits in the hash slot of the user's channel (`{<channel>}` hash tag), like the history.
 */
export function revocationKey(userId: string, prefix: string = DEFAULT_CHANNEL_PREFIX): string {
  return `{${userChannel(userId, prefix)}}:revoked_before`;
}

/**
 * Events a backend sends to the service itself on a user's channel, never to the user's browser
 * (catalogue names have no dot, so none can be mistaken for a notification):
 * - `ws.disconnect` {@link DisconnectData}: close every socket of the user now.
 */
export const userCommands = { DISCONNECT: 'ws.disconnect' } as const;

/** What a disconnect's `reason` may look like: short, safe in a log line. */
export const DISCONNECT_REASON_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * `data` of a {@link userCommands.DISCONNECT} message:
 * - `reason`: why, for the service's log (`logout`, `password_changed`, `account_disabled`, ...);
 * - `issued_before` (optional): epoch seconds; tokens whose `iat` is earlier are refused from now
 *   on (the same value is in {@link revocationKey}).
 *
 * Loose: later fields may be added.
 */
export const disconnectDataSchema = z.looseObject(
  {
    reason: matching(DISCONNECT_REASON_PATTERN, 'a reason ([A-Za-z0-9_.:-], 1-64)', 'a string'),
    issued_before: z.optional(count('a whole number of epoch seconds')),
  },
  'an object',
);
/** `data` of a `ws.disconnect` message. */
export type DisconnectData = z.infer<typeof disconnectDataSchema>;

/**
 * Whether a token issued at `issuedAt` (its `iat`, epoch seconds; `undefined` when it has none)
 * is refused by a revocation of tokens issued before `revokedBefore` (epoch seconds). Whole
 * seconds: a token issued in the same second as the revocation passes, so a fresh token handed
 * out right after `disconnectUser` works. A token without `iat` cannot show it is newer: refused.
 */
export function isRevoked(issuedAt: number | undefined, revokedBefore: number): boolean {
  return issuedAt === undefined || Math.floor(issuedAt) < Math.floor(revokedBefore);
}
