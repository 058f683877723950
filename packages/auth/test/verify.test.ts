import { createHmac, generateKeyPairSync } from 'node:crypto';
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

/** An HS256 token with exactly these claims, for values jsonwebtoken refuses to sign. */
function handSigned(claims: Record<string, unknown>): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({
    aud: 'huleedu-platform',
    iss: 'huleedu-identity-service',
    ...claims,
  })}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

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

const nowSeconds = () => Math.floor(Date.now() / 1000);
/** 9999-12-31T23:59:59Z: the "never expires" token the probe got admitted. */
const YEAR_9999 = 253_402_300_799;

describe('token rules', () => {
  it('refuses a lifetime longer than a day, with or without iat', () => {
    const forever = signToken('u', { secret, claims: { exp: YEAR_9999 } });
    const refused = refusal(forever);
    expect(refused.code).toBe('token_lifetime_too_long');
    expect(refused.message).toContain('9999-12-31T23:59:59.000Z');
    const noIat = signToken('u', { secret, claims: { exp: YEAR_9999, iat: undefined } });
    expect(
      JSON.parse(Buffer.from(noIat.split('.')[1]!, 'base64url').toString()),
    ).not.toHaveProperty('iat');
    expect(refusal(noIat).code).toBe('token_missing_iat');
    const lenient = createTokenVerifier({ secret, allowMissingIat: true });
    expect(refusal(noIat, lenient).code).toBe('token_lifetime_too_long');
    expect(refusal(signToken('u', { secret, expiresInSeconds: 86_401 })).code).toBe(
      'token_lifetime_too_long',
    );
    // An iat long ago makes the declared lifetime long even if exp is near.
    const oldIat = signToken('u', { secret, claims: { iat: nowSeconds() - 2 * 86_400 } });
    expect(refusal(oldIat).code).toBe('token_lifetime_too_long');
  });

  it('accepts a lifetime of exactly the maximum, and the maximum is configurable', () => {
    expect(verifier.verify(signToken('u', { secret, expiresInSeconds: 86_400 })).userId).toBe('u');
    const inADay = signToken('u', { secret, expiresInSeconds: 86_000, claims: { iat: undefined } });
    const lenient = createTokenVerifier({ secret, allowMissingIat: true });
    expect(lenient.verify(inADay).userId).toBe('u');
    const short = createTokenVerifier({ secret, maxLifetimeSeconds: 600 });
    expect(short.verify(signToken('u', { secret, expiresInSeconds: 600 })).userId).toBe('u');
    expect(refusal(signToken('u', { secret, expiresInSeconds: 601 }), short).code).toBe(
      'token_lifetime_too_long',
    );
  });

  it('refuses any crit header, which it cannot understand', () => {
    const crit = signToken('u', { secret, header: { crit: ['exp'] } });
    expect(refusal(crit).code).toBe('token_crit_unsupported');
    expect(refusal(signToken('u', { secret, header: { crit: [] } })).code).toBe(
      'token_crit_unsupported',
    );
    // Other header fields are fine.
    expect(verifier.verify(signToken('u', { secret, header: { kid: 'k1' } })).userId).toBe('u');
  });

  it('refuses an iat in the future beyond the clock tolerance', () => {
    const future = signToken('u', { secret, claims: { iat: nowSeconds() + 120 } });
    expect(refusal(future).code).toBe('token_issued_in_future');
    const skewed = signToken('u', { secret, claims: { iat: nowSeconds() + 3 } });
    expect(verifier.verify(skewed).userId).toBe('u');
    const strict = createTokenVerifier({ secret, clockToleranceSeconds: 0 });
    expect(refusal(skewed, strict).code).toBe('token_issued_in_future');
    const textIat = handSigned({ sub: 'u', exp: nowSeconds() + 60, iat: 'yesterday' });
    expect(refusal(textIat).code).toBe('token_claims');
  });

  it('refuses a sub that is too long or has characters a user id cannot have', () => {
    for (const sub of [
      'a b',
      'tab\tuser',
      'nul\u0000user',
      'line\nbreak',
      '{ws:other}',
      'ws:{tag}',
      'über',
      'x'.repeat(129),
      'x'.repeat(5000),
    ]) {
      const refused = refusal(signToken(sub, { secret }));
      expect(refused.code, JSON.stringify(sub)).toBe('token_subject_invalid');
    }
    for (const sub of [
      'teacher-1',
      '3f2b9c1e-8d4a-4c1b-9e2f-0a1b2c3d4e5f',
      '12345',
      'anna.svensson@school.se',
      'tenant:42_user',
      'x'.repeat(128),
    ]) {
      expect(verifier.verify(signToken(sub, { secret })).userId).toBe(sub);
    }
  });

  it('takes a configurable sub pattern and length, always matched against the whole sub', () => {
    const numeric = createTokenVerifier({ secret, subjectPattern: '[0-9]+' });
    expect(numeric.verify(signToken('42', { secret })).userId).toBe('42');
    // Unanchored on purpose: the verifier anchors it, so "42 x" does not pass on its digits.
    expect(refusal(signToken('42 x', { secret }), numeric).code).toBe('token_subject_invalid');
    const sticky = createTokenVerifier({ secret, subjectPattern: /[a-z]+/gy });
    // A global/sticky RegExp reused by test() would alternate pass/fail; the verifier's does not.
    for (let i = 0; i < 3; i++)
      expect(sticky.verify(signToken('abc', { secret })).userId).toBe('abc');
    const short = createTokenVerifier({ secret, maxSubjectLength: 8 });
    expect(short.verify(signToken('12345678', { secret })).userId).toBe('12345678');
    expect(refusal(signToken('123456789', { secret }), short).message).toContain(
      'more than the 8 accepted',
    );
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
    expect(() => createTokenVerifier({ secret, maxLifetimeSeconds: 0 })).toThrow(
      'maxLifetimeSeconds must be a positive number',
    );
    expect(() => createTokenVerifier({ secret, maxSubjectLength: 1.5 })).toThrow(
      'maxSubjectLength must be a positive integer',
    );
    expect(() => createTokenVerifier({ secret, subjectPattern: '[a-z' })).toThrow(
      'subjectPattern is not a valid regular expression',
    );
  });
});
