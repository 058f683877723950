import type { ClientError } from './errors.js';

/**
 * Where the client is in its life:
 * - `idle`: created, `connect()` not called yet.
 * - `connecting`: fetching a token and opening a socket.
 * - `open`: the socket is up; notifications flow.
 * - `reconnecting`: no socket; waiting (backoff, offline, refused token) before the next try.
 * - `closed`: stopped for good, by `close()` or by the service ending the session (1000).
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Details that come with a state change: enough to drive a "live / reconnecting / offline" badge. */
export interface StateInfo {
  /** Attempts since the last connection that stayed up (1 for the first attempt). */
  attempt: number;
  /** In `reconnecting`: how long until the next attempt, in ms (absent while offline). */
  delayMs?: number;
  /** Close code of the socket that just went away (1006 when the network dropped it). */
  code?: number;
  /** Close reason the service sent, e.g. `token_expired`. */
  reason?: string;
  /** The browser reports no network: the client waits for `online` before it tries again. */
  offline?: boolean;
  /** Why the connection was lost, when it was an error: `auth_failed`, `heartbeat_timeout`, ... */
  error?: ClientError;
}

/**
 * The transitions the client may make. `reconnecting -> reconnecting` updates the info (going
 * offline) without a new attempt; `idle`/`closed -> reconnecting` is `connect()` while offline.
 */
export const transitions: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  idle: ['connecting', 'reconnecting', 'closed'],
  connecting: ['open', 'reconnecting', 'closed'],
  open: ['reconnecting', 'closed'],
  reconnecting: ['connecting', 'reconnecting', 'closed'],
  closed: ['connecting', 'reconnecting'],
};

/** True when the client may move from `from` to `to`. */
export function canTransition(from: ConnectionState, to: ConnectionState): boolean {
  return transitions[from].includes(to);
}
