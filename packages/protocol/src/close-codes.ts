/**
 * Every close code the service sends, in one table shared by the service, the client and the docs.
 * Codes 1000-1013 are RFC 6455 codes; 4000 is this platform's own.
 */
export const closeCodes = {
  /** Normal closure: the session ended on purpose. */
  NORMAL: 1000,
  /** The instance is going away (deploy, scale-down): reconnect, another instance will answer. */
  GOING_AWAY: 1001,
  /**
   * Policy violation: the token is missing, invalid, expired, refused by a token rule (lifetime,
   * `crit`, missing or future `iat`, unknown `kid`, `sub`), revoked, or (on an in-band refresh)
   * of another user (the platform cut the user off), or the origin is not
   * allowed; or the resume parameters are malformed (`resume_invalid`).
   */
  AUTH_FAILED: 1008,
  /** The client sent a frame larger than the service accepts. */
  MESSAGE_TOO_BIG: 1009,
  /** The service hit an unexpected error. */
  INTERNAL_ERROR: 1011,
  /**
   * The service is overloaded or not ready, or this socket sent more frames than the service
   * answers (`rate_limited`): try again later.
   */
  TRY_AGAIN_LATER: 1013,
  /** The user already has the maximum number of sockets on this instance. */
  CONNECTION_LIMIT: 4000,
} as const;

/** One of the close codes in {@link closeCodes}. */
export type CloseCode = (typeof closeCodes)[keyof typeof closeCodes];

/**
 * What a client should do after a close:
 * - `stop`: do not reconnect.
 * - `reconnect_soon`: reconnect after a short random delay (spread, so tabs do not stampede).
 * - `refresh_token`: fetch a fresh token, then reconnect; if that token is refused too, back off long.
 * - `backoff`: reconnect with exponential backoff.
 */
export type CloseAction = 'stop' | 'reconnect_soon' | 'refresh_token' | 'backoff';

/** A row of the close-code table: what the code means and what a client does about it. */
export interface CloseCodePolicy {
  readonly code: CloseCode;
  readonly name: keyof typeof closeCodes;
  readonly meaning: string;
  readonly action: CloseAction;
}

/** The close-code table: meaning and client action for every code the service sends. */
export const closeCodePolicies: Readonly<Record<CloseCode, CloseCodePolicy>> = {
  1000: {
    code: 1000,
    name: 'NORMAL',
    meaning: 'the session ended on purpose',
    action: 'stop',
  },
  1001: {
    code: 1001,
    name: 'GOING_AWAY',
    meaning: 'the instance is shutting down; another instance will accept the reconnect',
    action: 'reconnect_soon',
  },
  1008: {
    code: 1008,
    name: 'AUTH_FAILED',
    meaning:
      'the token was missing, invalid, expired, refused by a token rule or revoked, or the origin is not allowed',
    action: 'refresh_token',
  },
  1009: {
    code: 1009,
    name: 'MESSAGE_TOO_BIG',
    meaning: 'the client sent a frame larger than the service accepts',
    action: 'backoff',
  },
  1011: {
    code: 1011,
    name: 'INTERNAL_ERROR',
    meaning: 'the service hit an unexpected error',
    action: 'backoff',
  },
  1013: {
    code: 1013,
    name: 'TRY_AGAIN_LATER',
    meaning: 'the service is overloaded or not ready, or the socket sent frames too fast',
    action: 'backoff',
  },
  4000: {
    code: 4000,
    name: 'CONNECTION_LIMIT',
    meaning: 'the user already has the maximum number of sockets on this instance',
    action: 'backoff',
  },
};

/**
 * The action for any close code, including ones outside the table (1006 abnormal closure, for
 * example, when the network drops): unknown codes back off.
 */
export function closeActionFor(code: number): CloseAction {
  return (
    (closeCodePolicies as Record<number, CloseCodePolicy | undefined>)[code]?.action ?? 'backoff'
  );
}

/**
 * Machine-readable close reasons the service sends with a close code (each well under the
 * 123-byte limit of a close frame's reason).
 */
export const closeReasons = {
  TOKEN_MISSING: 'token_missing',
  TOKEN_MALFORMED: 'token_malformed',
  TOKEN_EXPIRED: 'token_expired',
  TOKEN_NOT_ACTIVE: 'token_not_active',
  TOKEN_INVALID_SIGNATURE: 'token_invalid_signature',
  TOKEN_ALGORITHM: 'token_algorithm',
  TOKEN_CLAIMS: 'token_claims',
  /** `exp - iat` (or `exp - now` without `iat`) is longer than the service accepts (default a day). */
  TOKEN_LIFETIME_TOO_LONG: 'token_lifetime_too_long',
  /** The JWS header has `crit`: extensions the service does not understand, so it must refuse. */
  TOKEN_CRIT_UNSUPPORTED: 'token_crit_unsupported',
  /** `iat` is later than now plus the clock tolerance. */
  TOKEN_ISSUED_IN_FUTURE: 'token_issued_in_future',
  /** `sub` (the user id, later a Redis channel name) is too long or has characters not allowed. */
  TOKEN_SUBJECT_INVALID: 'token_subject_invalid',
  /**
   * The token has no `iat` (issue time), and the service requires one: without it, neither the
   * lifetime nor a revocation of tokens issued before a time can be judged.
   */
  TOKEN_MISSING_IAT: 'token_missing_iat',
  /**
   * The token's `kid` header names no key the service knows (or is missing while the service
   * verifies with a key set), or that key does not fit the pinned algorithm.
   */
  TOKEN_KEY_UNKNOWN: 'token_key_unknown',
  /**
   * An in-band refresh (`ws.refresh_token`) carried a valid token of another user than the
   * socket's: a socket never changes user.
   */
  TOKEN_SUBJECT_MISMATCH: 'token_subject_mismatch',
  /**
   * The platform cut the user off (`disconnectUser` in `@huleedu/notify`): an open socket is
   * closed with it, and a handshake whose token was issued before the revocation is refused. The
   * client fetches a fresh token, which works unless the user may no longer have one.
   */
  TOKEN_REVOKED: 'token_revoked',
  ORIGIN_NOT_ALLOWED: 'origin_not_allowed',
  /**
   * Sent with 1008: the resume parameters of `GET /ws` (`position`, `epoch`, `recent`, see
   * `resumeParams`) are malformed: not a whole number, negative, an epoch that does not match
   * `EPOCH_PATTERN`, an epoch without a position, a position above 0 without an epoch, or a
   * parameter given twice. Only when the service keeps history; a `recent` above its cap is
   * lowered to the cap, not refused.
   */
  RESUME_INVALID: 'resume_invalid',
  CONNECTION_LIMIT: 'connection_limit',
  SERVER_SHUTDOWN: 'server_shutdown',
  MESSAGE_TOO_BIG: 'message_too_big',
  INTERNAL_ERROR: 'internal_error',
  /**
   * Sent with 1013 to a handshake when the service cannot tell whether the token was revoked
   * (Redis did not answer in time): try again later.
   */
  NOT_READY: 'not_ready',
  /**
   * Sent with 1013: the socket sent frames (text `ping`, protocol pings, anything) faster than
   * its per-socket budget; a client that follows the heartbeat never gets near it.
   */
  RATE_LIMITED: 'rate_limited',
} as const;

/** One of the reasons in {@link closeReasons}. */
export type CloseReason = (typeof closeReasons)[keyof typeof closeReasons];

/** The reasons that mean the token (or origin) was refused: sent with close code 1008. */
export const authFailureReasons = [
  closeReasons.TOKEN_MISSING,
  closeReasons.TOKEN_MALFORMED,
  closeReasons.TOKEN_EXPIRED,
  closeReasons.TOKEN_NOT_ACTIVE,
  closeReasons.TOKEN_INVALID_SIGNATURE,
  closeReasons.TOKEN_ALGORITHM,
  closeReasons.TOKEN_CLAIMS,
  closeReasons.TOKEN_LIFETIME_TOO_LONG,
  closeReasons.TOKEN_CRIT_UNSUPPORTED,
  closeReasons.TOKEN_ISSUED_IN_FUTURE,
  closeReasons.TOKEN_SUBJECT_INVALID,
  closeReasons.TOKEN_MISSING_IAT,
  closeReasons.TOKEN_KEY_UNKNOWN,
  closeReasons.TOKEN_SUBJECT_MISMATCH,
  closeReasons.TOKEN_REVOKED,
  closeReasons.ORIGIN_NOT_ALLOWED,
] as const;

/** One of {@link authFailureReasons}. */
export type AuthFailureReason = (typeof authFailureReasons)[number];
