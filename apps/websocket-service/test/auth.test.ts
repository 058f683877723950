import { createTokenVerifier, KeysUnavailableError, signToken } from '@huleedu/auth';
import { handshakeToken, tokenSubprotocols } from '@huleedu/ws-protocol';
import { describe, expect, it } from 'vitest';
import { type Admission, createHandshakeAuth } from '../src/auth.js';
import { captureLogger } from './helpers.js';

const secret = 'handshake-test-secret-0123456789abcdef';
const verifier = createTokenVerifier({ secret });

/** The gate with a local verifier, which answers at once. */
function auth(allowedOrigins?: string[]) {
  const log = captureLogger();
  const gate = createHandshakeAuth({
    verifier,
    logger: log.logger,
    ...(allowedOrigins ? { allowedOrigins } : {}),
  });
  return {
    log,
    gate: {
      admit: (url: string, origin: string | undefined, protocols?: string) =>
        gate.admit(url, origin, protocols) as Admission,
      refresh: (token: string, userId: string) => gate.refresh(token, userId) as Admission,
    },
  };
}

// The legacy `?token=` path as the handshake reads it (no Sec-WebSocket-Protocol header).
const tokenFromRequestUrl = (url: string) => {
  const read = handshakeToken(url, undefined);
  return read.ok ? read.token : undefined;
};

describe('the ?token= query parameter', () => {
  it('reads the token query parameter', () => {
    expect(tokenFromRequestUrl('/ws?token=abc.def.ghi')).toBe('abc.def.ghi');
    expect(tokenFromRequestUrl('/ws?x=1&token=a%2Eb.c')).toBe('a.b.c');
    expect(tokenFromRequestUrl('/ws?token=first&token=second')).toBe('first');
  });

  it('returns null when there is no token', () => {
    expect(tokenFromRequestUrl('/ws')).toBeNull();
    expect(tokenFromRequestUrl('/ws?')).toBeNull();
    expect(tokenFromRequestUrl('/ws?token=')).toBeNull();
    expect(tokenFromRequestUrl('/ws?tok=abc')).toBeNull();
  });
});

describe('createHandshakeAuth', () => {
  it('admits a valid token and returns the user and expiry', () => {
    const token = signToken('teacher-1', { secret, expiresInSeconds: 600 });
    const result = auth().gate.admit(`/ws?token=${token}`, undefined);
    expect(result).toMatchObject({ ok: true, userId: 'teacher-1' });
    if (result.ok) expect(result.expiresAt).toBeGreaterThan(Date.now() + 590_000);
  });

  it('maps every token problem to its close reason', () => {
    const { gate } = auth();
    const cases: Array<[string, string]> = [
      ['/ws', 'token_missing'],
      ['/ws?token=garbage', 'token_malformed'],
      [`/ws?token=${signToken('u', { secret, expiresInSeconds: -60 })}`, 'token_expired'],
      [
        `/ws?token=${signToken('u', { secret: 'another-secret-0123456789abcdef' })}`,
        'token_invalid_signature',
      ],
      [`/ws?token=${signToken('u', { secret, audience: 'someone-else' })}`, 'token_claims'],
      [`/ws?token=${signToken('u', { secret, algorithm: 'HS512' })}`, 'token_algorithm'],
    ];
    for (const [url, reason] of cases) {
      expect(gate.admit(url, undefined), reason).toEqual({ ok: false, reason });
    }
  });

  it('allows any origin when no list is configured', () => {
    const token = signToken('u', { secret });
    expect(auth().gate.admit(`/ws?token=${token}`, 'https://anything.example').ok).toBe(true);
  });

  it('checks the Origin header against the list, and judges requests without one by token alone', () => {
    const { gate } = auth(['https://app.huleedu.com']);
    const token = signToken('u', { secret });
    expect(gate.admit(`/ws?token=${token}`, 'https://app.huleedu.com').ok).toBe(true);
    expect(gate.admit(`/ws?token=${token}`, 'HTTPS://APP.HULEEDU.COM:443').ok).toBe(true);
    expect(gate.admit(`/ws?token=${token}`, undefined).ok).toBe(true);
    expect(gate.admit(`/ws?token=${token}`, 'https://evil.example')).toEqual({
      ok: false,
      reason: 'origin_not_allowed',
    });
    expect(gate.admit(`/ws?token=${token}`, 'null')).toEqual({
      ok: false,
      reason: 'origin_not_allowed',
    });
    // A wrong origin is refused even with a bad token: the origin is checked first.
    expect(gate.admit('/ws', 'https://evil.example')).toEqual({
      ok: false,
      reason: 'origin_not_allowed',
    });
  });

  it('refuses, and logs without the token, when the verifier fails unexpectedly', () => {
    const log = captureLogger();
    const token = 'aaa.bbb.ccc';
    const gate = createHandshakeAuth({
      verifier: {
        verify: (t) => {
          throw new TypeError(`cannot read ${String(t)}`);
        },
      },
      logger: log.logger,
    });
    expect(gate.admit(`/ws?token=${token}`, undefined)).toEqual({
      ok: false,
      reason: 'token_malformed',
    });
    expect(log.lines[0]).toMatchObject({
      level: 'error',
      msg: 'token verification failed unexpectedly',
    });
    expect(log.text()).not.toContain(token);
  });
});

describe('tokens in Sec-WebSocket-Protocol', () => {
  it('reads the token from the bearer subprotocol, and refuses a token sent both ways', () => {
    const { gate } = auth();
    const token = signToken('teacher-7', { secret });
    const header = tokenSubprotocols(token).join(', ');
    expect(gate.admit('/ws', undefined, header)).toMatchObject({ ok: true, userId: 'teacher-7' });
    expect(gate.admit(`/ws?token=${token}`, undefined, header)).toEqual({
      ok: false,
      reason: 'token_malformed',
    });
    // A bearer entry without huleedu.v1 cannot be answered with an offered subprotocol.
    expect(gate.admit('/ws', undefined, `huleedu.bearer.${token}`)).toEqual({
      ok: false,
      reason: 'token_malformed',
    });
    // huleedu.v1 alone, with the token in the URL (the legacy way), is fine.
    expect(gate.admit(`/ws?token=${token}`, undefined, 'huleedu.v1').ok).toBe(true);
  });

  it('refuses tokens without iat by default', () => {
    const noIat = signToken('u', { secret, claims: { iat: undefined } });
    expect(auth().gate.admit(`/ws?token=${noIat}`, undefined)).toEqual({
      ok: false,
      reason: 'token_missing_iat',
    });
  });
});

describe('refresh', () => {
  it('accepts a fresh token of the same user with its expiry and issue time', () => {
    const token = signToken('teacher-1', { secret, expiresInSeconds: 900 });
    const result = auth().gate.refresh(token, 'teacher-1');
    expect(result).toMatchObject({ ok: true, userId: 'teacher-1' });
    if (result.ok) {
      expect(result.expiresAt).toBeGreaterThan(Date.now() + 890_000);
      expect(result.issuedAt).toBeLessThanOrEqual(Date.now() / 1000);
    }
  });

  it("refuses another user's token and every token the handshake refuses", () => {
    const { gate } = auth();
    expect(gate.refresh(signToken('teacher-2', { secret }), 'teacher-1')).toEqual({
      ok: false,
      reason: 'token_subject_mismatch',
    });
    expect(
      gate.refresh(signToken('teacher-1', { secret, expiresInSeconds: -60 }), 'teacher-1'),
    ).toEqual({ ok: false, reason: 'token_expired' });
    expect(gate.refresh('garbage', 'teacher-1')).toEqual({ ok: false, reason: 'token_malformed' });
  });

  it('answers 1013 not_ready when the keys cannot be read (a JWKS URL that does not answer)', async () => {
    const log = captureLogger();
    const gate = createHandshakeAuth({
      verifier: {
        verify: () => Promise.reject(new KeysUnavailableError('the JWKS URL did not answer')),
      },
      logger: log.logger,
    });
    await expect(gate.admit('/ws?token=a.b.c', undefined)).resolves.toEqual({
      ok: false,
      reason: 'not_ready',
      code: 1013,
    });
    await expect(gate.refresh('a.b.c', 'u')).resolves.toMatchObject({ reason: 'not_ready' });
  });
});
