/**
 * What went wrong, as reported through `onError` (never thrown into app code):
 * - `invalid_message`: a frame that is not a valid notification (not JSON, wrong payload, binary).
 * - `auth_failed`: the service refused a freshly fetched token too; the client backs off long.
 * - `token_unavailable`: `getToken` threw or rejected; the client backs off and asks again.
 * - `connect_timeout`: the socket did not open in time (service frozen or unreachable).
 * - `heartbeat_timeout`: an open socket went silent for too long and was replaced.
 * - `handler_failed`: an app handler threw; the other handlers still ran.
 * - `resume_refused`: the service refused the client's resume parameters (close reason
 *   `resume_invalid`); the client dropped its position, reconnects without one and calls the
 *   `onResync` handlers (`history_lost`).
 */
export type ClientErrorCode =
  | 'invalid_message'
  | 'auth_failed'
  | 'token_unavailable'
  | 'connect_timeout'
  | 'heartbeat_timeout'
  | 'handler_failed'
  | 'resume_refused';

/** An error value: a code to branch on and a message a person can act on. */
export interface ClientError {
  code: ClientErrorCode;
  message: string;
  /** The close reason (`auth_failed`), the raw frame (`invalid_message`) or what was thrown. */
  detail?: unknown;
}
