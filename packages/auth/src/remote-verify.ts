import type { VerifiedToken } from './claims.js';
import { MAX_KID_LENGTH, unknownKid } from './key-set.js';
import { RemoteKeySet, type RemoteKeySetOptions } from './remote-key-set.js';
import { readHeader, type TokenRuleOptions, tokenRules, verifySignedToken } from './verify.js';

/** How a JWKS URL verifier checks tokens: the token rules plus where and how to read the keys. */
export interface RemoteVerifierOptions extends TokenRuleOptions, RemoteKeySetOptions {}

/** Checks tokens against the keys of a JWKS URL; the same rules and reasons as `TokenVerifier`. */
export interface RemoteTokenVerifier {
  /**
   * The verified token, or rejects with an `AuthError` (a reason code, close 1008) or a
   * `KeysUnavailableError` (the keys could not be read: try again later, close 1013).
   */
  verify(token: string | null | undefined): Promise<VerifiedToken>;
}

/**
 * Creates a verifier whose keys come from a JWKS URL, chosen by the token's `kid`. Nothing is
 * read until the first token; a `kid` not seen before makes it read the JWKS again (rate
 * limited), so a key the identity service rotates in is accepted without a restart. Throws a
 * plain Error for bad options.
 */
export function createRemoteTokenVerifier(options: RemoteVerifierOptions): RemoteTokenVerifier {
  const rules = tokenRules(options);
  const keys = new RemoteKeySet(options, rules.algorithm);
  return {
    async verify(token) {
      const { kid } = readHeader(token, rules.algorithm);
      // A kid longer than any real one is not worth a read of the JWKS.
      if (kid !== undefined && kid.length > MAX_KID_LENGTH) throw unknownKid(kid);
      const key = await keys.key(kid);
      return verifySignedToken(token as string, key, kid, rules);
    },
  };
}
