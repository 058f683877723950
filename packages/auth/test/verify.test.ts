import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthError, createTokenVerifier, signToken } from '../src/index.js';

const secret = 'test-secret-of-reasonable-length';
const verifier = createTokenVerifier({ secret });

function refusal(token: string | null | undefined, v = verifier): AuthError {
  try {
    v.verify(token);
  } catch (error) {
    if (error instanceof AuthError) return error;
    throw error;
  }
  throw new Error('token was accepted');
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('verify', () => {
  it('returns the user id, expiry and claims of a good token', () => {
    const token = signToken('teacher-1', { secret, claims: { role: 'teacher' } });
    const verified = verifier.verify(token);
    expect(verified.userId).toBe('teacher-1');
    expect(verified.claims.role).toBe('teacher');
    expect(verified.expiresAt).toBeGreaterThan(Date.now() + 3500_000);
  });

  it('refuses a missing token', () => {
    expect(refusal(undefined).code).toBe('token_missing');
    expect(refusal('').code).toBe('token_missing');
  });

  it('refuses malformed tokens', () => {
    expect(refusal('not-a-jwt').code).toBe('token_malformed');
    expect(refusal('a.b.c').code).toBe('token_malformed');
    expect(refusal(`${'a'.repeat(9000)}.b.c`).code).toBe('token_malformed');
  });

  it('refuses an expired token, tolerating a few seconds of skew', () => {
    expect(refusal(signToken('u', { secret, expiresInSeconds: -60 })).code).toBe('token_expired');
    expect(verifier.verify(signToken('u', { secret, expiresInSeconds: -2 })).userId).toBe('u');
    const strict = createTokenVerifier({ secret, clockToleranceSeconds: 0 });
    expect(refusal(signToken('u', { secret, expiresInSeconds: -2 }), strict).code).toBe(
      'token_expired',
    );
  });

  it('refuses a token that is not active yet', () => {
    expect(refusal(signToken('u', { secret, notBeforeSeconds: 120 })).code).toBe(
      'token_not_active',
    );
  });

  it('refuses a token signed with another secret', () => {
    expect(refusal(signToken('u', { secret: 'another-secret' })).code).toBe(
      'token_invalid_signature',
    );
  });

  it('refuses wrong audience, wrong issuer, missing sub and missing exp', () => {
    expect(refusal(signToken('u', { secret, audience: 'elsewhere' })).code).toBe('token_claims');
    expect(refusal(signToken('u', { secret, issuer: 'someone' })).code).toBe('token_claims');
    expect(refusal(signToken('u', { secret, claims: { sub: undefined } })).code).toBe(
      'token_claims',
    );
    expect(refusal(signToken('u', { secret, expiresInSeconds: null })).code).toBe('token_claims');
  });

  it('never accepts alg none or another algorithm', () => {
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u', exp: 9e9 })}.`;
    expect(refusal(none).code).toBe('token_algorithm');
    const hs512 = signToken('u', { secret, algorithm: 'HS512' });
    expect(refusal(hs512).code).toBe('token_algorithm');
  });

  it('verifies RS256 and ES256 with a PEM public key and refuses HS256 forged with that key', () => {
    for (const [algorithm, type] of [
      ['RS256', 'rsa'],
      ['ES256', 'ec'],
    ] as const) {
      const pair =
        type === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const publicKey = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const rs = createTokenVerifier({ algorithm, publicKey });
      expect(rs.verify(signToken('u', { algorithm, privateKey })).userId).toBe('u');
      // The classic algorithm-confusion attack: HMAC-sign with the public key as the secret.
      const forged = signToken('u', { secret: publicKey });
      expect(refusal(forged, rs).code).toBe('token_algorithm');
    }
  });
});

describe('createTokenVerifier', () => {
  it('refuses bad options with a clear message', () => {
    expect(() => createTokenVerifier({})).toThrow('a secret is required for HS256');
    expect(() => createTokenVerifier({ secret, algorithm: 'none' })).toThrow(
      'unsupported JWT algorithm "none"',
    );
    expect(() => createTokenVerifier({ algorithm: 'RS256' })).toThrow(
      'a PEM public key is required for RS256',
    );
    expect(() => createTokenVerifier({ secret, clockToleranceSeconds: -1 })).toThrow(
      'clockToleranceSeconds must be a non-negative number',
    );
  });
});
