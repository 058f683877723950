import type { AuthFailureReason } from '@huleedu/ws-protocol';

/** Why a token was refused: the same machine-readable reasons the service sends with close 1008. */
export type AuthErrorCode = Exclude<AuthFailureReason, 'origin_not_allowed' | 'token_revoked'>;

/** A refused token: `code` for machines (and the close reason), `message` for people. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  /** The machine-readable reason, e.g. `token_expired`. */
  readonly code: AuthErrorCode;

  constructor(code: AuthErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The verification keys could not be read (a JWKS URL did not answer, answered garbage, or was
 * read too often this minute): not the token's fault. The service answers such a handshake with
 * 1013 `not_ready` (try again later), not 1008.
 */
export class KeysUnavailableError extends Error {
  override readonly name = 'KeysUnavailableError';
  /** Always `keys_unavailable`. */
  readonly code = 'keys_unavailable' as const;
}
