import { isRevoked } from '@huleedu/ws-protocol';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, signToken } from '../src/index.js';
import { refusalCode } from './support.js';

const secret = 'a-secret-that-is-32-bytes-long!!';
const now = () => Math.floor(Date.now() / 1000);

describe('iat', () => {
  it('is required by default, with a reason of its own', () => {
    const verifier = createTokenVerifier({ secret });
    const noIat = signToken('u', { secret, expiresInSeconds: 600, claims: { iat: undefined } });
    expect(refusalCode(() => verifier.verify(noIat))).toBe('token_missing_iat');
    const issued = now() - 30;
    const withIat = verifier.verify(signToken('u', { secret, claims: { iat: issued } }));
    expect(withIat.issuedAt).toBe(issued);
  });

  it('when allowed, a token without iat is judged as issued at exp - maxLifetimeSeconds', () => {
    const verifier = createTokenVerifier({
      secret,
      allowMissingIat: true,
      maxLifetimeSeconds: 3600,
    });
    const exp = now() + 600;
    const verified = verifier.verify(signToken('u', { secret, claims: { iat: undefined, exp } }));
    expect(verified.issuedAt).toBe(exp - 3600);
    expect(verified.claims).not.toHaveProperty('iat');
    // Valid for longer than the maximum from now: a dormant token, refused.
    const dormant = signToken('u', { secret, claims: { iat: undefined, exp: now() + 7200 } });
    expect(refusalCode(() => verifier.verify(dormant))).toBe('token_lifetime_too_long');
  });

  it('makes a revocation hold for iat-less tokens without locking out the fresh ones', () => {
    const verifier = createTokenVerifier({
      secret,
      allowMissingIat: true,
      maxLifetimeSeconds: 3600,
    });
    const revokedBefore = now();
    // exp an hour away at most: may have been issued before the revocation, so refused ...
    const old = verifier.verify(
      signToken('u', { secret, claims: { iat: undefined, exp: revokedBefore + 1800 } }),
    );
    expect(isRevoked(old.issuedAt, revokedBefore)).toBe(true);
    // ... and one that can only have been issued at or after it passes.
    const fresh = verifier.verify(
      signToken('u', { secret, claims: { iat: undefined, exp: revokedBefore + 3600 } }),
    );
    expect(isRevoked(fresh.issuedAt, revokedBefore)).toBe(false);
  });
});
