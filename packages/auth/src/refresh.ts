import type { VerifiedToken } from './claims.js';
import { AuthError } from './errors.js';
import type { RemoteTokenVerifier } from './remote-verify.js';
import type { TokenVerifier } from './verify.js';

/**
 * Verifies a fresh token handed over on an open socket (in-band refresh, `ws.refresh_token`) with
 * the verifier's rules, and requires it to belong to `userId`, the socket's user (else an
 * {@link AuthError} `token_subject_mismatch`). The new expiry is `expiresAt` of the result, and
 * `issuedAt` is what a revocation check compares. With a `TokenVerifier` it returns or throws at
 * once; with a `RemoteTokenVerifier` it returns a promise.
 */
export function verifyRefresh(
  verifier: TokenVerifier,
  token: string | null | undefined,
  userId: string,
): VerifiedToken;
export function verifyRefresh(
  verifier: RemoteTokenVerifier,
  token: string | null | undefined,
  userId: string,
): Promise<VerifiedToken>;
export function verifyRefresh(
  verifier: TokenVerifier | RemoteTokenVerifier,
  token: string | null | undefined,
  userId: string,
): VerifiedToken | Promise<VerifiedToken> {
  const verified = verifier.verify(token);
  if (verified instanceof Promise) return verified.then((fresh) => sameUser(fresh, userId));
  return sameUser(verified, userId);
}

function sameUser(verified: VerifiedToken, userId: string): VerifiedToken {
  if (verified.userId !== userId) {
    throw new AuthError(
      'token_subject_mismatch',
      "the refreshed token belongs to another user than the socket's",
    );
  }
  return verified;
}
