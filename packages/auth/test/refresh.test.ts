import { describe, expect, it } from 'vitest';
import { createTokenVerifier, signToken, verifyRefresh } from '../src/index.js';
import { refusalCode } from './support.js';

const secret = 'a-secret-that-is-32-bytes-long!!';
const verifier = createTokenVerifier({ secret });

describe('in-band refresh', () => {
  it("accepts the same user's fresh token and returns the new expiry", () => {
    const fresh = signToken('teacher-1', { secret, expiresInSeconds: 1800 });
    const verified = verifyRefresh(verifier, fresh, 'teacher-1');
    expect(verified.userId).toBe('teacher-1');
    expect(verified.expiresAt).toBeGreaterThan(Date.now() + 1700_000);
  });

  it("refuses another user's token, and whatever a handshake would refuse", () => {
    const other = signToken('teacher-2', { secret });
    expect(refusalCode(() => verifyRefresh(verifier, other, 'teacher-1'))).toBe(
      'token_subject_mismatch',
    );
    const expired = signToken('teacher-1', { secret, expiresInSeconds: -60 });
    expect(refusalCode(() => verifyRefresh(verifier, expired, 'teacher-1'))).toBe('token_expired');
    const noIat = signToken('teacher-1', { secret, claims: { iat: undefined } });
    expect(refusalCode(() => verifyRefresh(verifier, noIat, 'teacher-1'))).toBe(
      'token_missing_iat',
    );
    expect(refusalCode(() => verifyRefresh(verifier, '', 'teacher-1'))).toBe('token_missing');
  });
});
