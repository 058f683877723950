import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuthError, createTokenVerifier, signToken } from '../src/index.js';
import { keyPair } from './support.js';

const a = keyPair('rsa', 'key-a');
const b = keyPair('rsa', 'key-b');
const jwks = { keys: [a.jwk, b.jwk] };

function refusal(action: () => unknown): AuthError {
  try {
    action();
  } catch (error) {
    if (error instanceof AuthError) return error;
    throw error;
  }
  throw new Error('token was accepted');
}

const sign = (privateKey: string, kid: string | undefined, algorithm = 'RS256') =>
  signToken('teacher-1', {
    algorithm,
    privateKey,
    ...(kid === undefined ? {} : { header: { kid } }),
  });

describe('several keys at once, chosen by kid', () => {
  it('verifies tokens of every key in the set, from an object, JSON text or a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'huleedu-jwks-'));
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify(jwks));
    for (const source of [{ jwks }, { jwks: JSON.stringify(jwks) }, { jwksFile: file }]) {
      const verifier = createTokenVerifier({ algorithm: 'RS256', ...source });
      expect(verifier.verify(sign(a.privatePem, 'key-a'))).toMatchObject({
        userId: 'teacher-1',
        keyId: 'key-a',
      });
      expect(verifier.verify(sign(b.privatePem, 'key-b')).keyId).toBe('key-b');
    }
  });

  it('refuses an unknown or missing kid, and a kid pointing at another key', () => {
    const verifier = createTokenVerifier({ algorithm: 'RS256', jwks });
    const unknown = refusal(() => verifier.verify(sign(a.privatePem, 'key-z')));
    expect(unknown.code).toBe('token_key_unknown');
    expect(unknown.message).toBe('no key with kid "key-z" in the key set');
    expect(refusal(() => verifier.verify(sign(a.privatePem, undefined))).code).toBe(
      'token_key_unknown',
    );
    expect(refusal(() => verifier.verify(sign(a.privatePem, 'key-b'))).code).toBe(
      'token_invalid_signature',
    );
  });

  it('keeps the algorithm pinned: no HS token forged with a public key, no other algorithm', () => {
    const verifier = createTokenVerifier({ algorithm: 'RS256', jwks });
    const forged = signToken('teacher-1', { secret: a.publicPem, header: { kid: 'key-a' } });
    expect(refusal(() => verifier.verify(forged)).code).toBe('token_algorithm');
    expect(refusal(() => verifier.verify(sign(a.privatePem, 'key-a', 'PS256'))).code).toBe(
      'token_algorithm',
    );
  });

  it('verifies HS tokens with oct keys, and never an HS key for RS or the other way round', () => {
    const secrets = {
      keys: [
        { kty: 'oct', kid: 's1', k: Buffer.from('s'.repeat(32)).toString('base64url') },
        { kty: 'oct', kid: 's2', k: Buffer.from('t'.repeat(32)).toString('base64url') },
      ],
    };
    const hs = createTokenVerifier({ jwks: secrets });
    const token = signToken('u', { secret: 't'.repeat(32), header: { kid: 's2' } });
    expect(hs.verify(token).keyId).toBe('s2');
    expect(() => createTokenVerifier({ algorithm: 'RS256', jwks: secrets })).toThrow(
      'key "s1" is a shared secret; RS256 needs a public key',
    );
    expect(() => createTokenVerifier({ algorithm: 'HS256', jwks })).toThrow(
      'key "key-a" is an RSA key of 2048 bits; HS256 needs a shared secret',
    );
  });

  it('refuses, at creation, a set whose keys do not fit, lack a kid, repeat, or are private', () => {
    const ec = keyPair('P-384', 'ec');
    const create =
      (keys: unknown[], algorithm = 'RS256') =>
      () =>
        createTokenVerifier({ algorithm, jwks: { keys } as never });
    expect(create([ec.jwk])).toThrow(
      'key "ec" is an EC key on curve P-384; RS256 needs an RSA key',
    );
    expect(create([ec.jwk], 'ES256')).toThrow('ES256 needs an EC key on curve P-256');
    expect(
      createTokenVerifier({ algorithm: 'ES384', jwks: { keys: [ec.jwk] } as never }),
    ).toBeDefined();
    expect(create([{ ...a.jwk, kid: undefined }])).toThrow('key #0 has no kid');
    expect(create([a.jwk, a.jwk])).toThrow('key "key-a" appears twice');
    expect(create([{ ...a.jwk, alg: 'RS512' }])).toThrow('is for RS512; only RS256 is accepted');
    expect(create([{ ...a.jwk, use: 'enc' }])).toThrow('the JWKS has no signing key');
    expect(create([])).toThrow('the JWKS has no signing key');
    const priv = keyPair('rsa', 'p');
    const privateJwk = { ...createPrivateKey(priv.privatePem).export({ format: 'jwk' }), kid: 'p' };
    expect(create([privateJwk])).toThrow('key "p" is a private key');
    expect(() => createTokenVerifier({ algorithm: 'RS256', jwks: '{not json' })).toThrow(
      'the JWKS is not JSON',
    );
    expect(() =>
      createTokenVerifier({ algorithm: 'RS256', jwksFile: '/nonexistent/jwks.json' }),
    ).toThrow('cannot read the JWKS file /nonexistent/jwks.json');
    expect(() => createTokenVerifier({ algorithm: 'RS256', jwks, publicKey: a.publicPem })).toThrow(
      'give one key source',
    );
  });
});
