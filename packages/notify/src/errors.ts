import type { SchemaIssue } from '@huleedu/ws-protocol';

/** Why a notification was refused before anything was sent to Redis. */
export type NotificationValidationErrorCode =
  /** The payload (or an option that ends up in `data`) does not match the catalogue. */
  | 'invalid_payload'
  /** The notification type is not in the catalogue. */
  | 'unknown_type'
  /** The user id is empty, too long, or contains whitespace, control, glob or (with history) brace characters. */
  | 'invalid_user_id'
  /** The idempotency key is empty, too long, contains whitespace or control characters, or history is off. */
  | 'invalid_idempotency_key'
  /** `disconnectUser` got a `reason` or `issuedBefore` it cannot use. */
  | 'invalid_disconnect';

/**
 * A notification was refused before it reached Redis. `message` names each bad field with what was
 * expected and what came, e.g. `batch_results_ready: data.results_count: expected a whole number
 * >= 0, got "three"; data.clas_id: unknown field`. Fix the call; retrying won't help.
 */
export class NotificationValidationError extends Error {
  override readonly name = 'NotificationValidationError';
  /** Machine-readable reason. */
  readonly code: NotificationValidationErrorCode;
  /** zod's issues when a schema refused the payload (path, code, input, ...); empty otherwise. */
  readonly issues: readonly SchemaIssue[];

  constructor(
    code: NotificationValidationErrorCode,
    message: string,
    issues: readonly SchemaIssue[] = [],
  ) {
    super(message);
    this.code = code;
    this.issues = issues;
  }
}

/** Why the notifier could not be created or could not deliver a message to Redis. */
export type NotifierErrorCode =
  /** `createNotifier` was given options it cannot use (bad prefix, bad Redis URL, ...). */
  | 'invalid_options'
  /** Redis could not be reached (refused, timed out connecting, retries used up). */
  | 'redis_unavailable'
  /** Redis did not answer within `publishTimeoutMs`. The message may still arrive later. */
  | 'redis_timeout'
  /**
   * Redis answered with an error (e.g. NOPERM, SPUBLISH on a server older than 7, or the publish
   * script's own `ERR huleedu publish: ...`).
   */
  | 'redis_error'
  /** `close()` was already called on this notifier. */
  | 'notifier_closed';

/**
 * The notifier was misconfigured or Redis failed. Redis failures (`redis_*`) are worth retrying
 * later; the original error is kept as `cause`.
 */
export class NotifierError extends Error {
  override readonly name = 'NotifierError';
  /** Machine-readable reason. */
  readonly code: NotifierErrorCode;

  constructor(code: NotifierErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
