import { describe, expect, it } from 'vitest';
import {
  checkJwksFile,
  checkJwksUrl,
  checkPublicKey,
  checkSecret,
  checkSubjectRules,
  createTokenVerifier,
  DEFAULT_MAX_SUBJECT_LENGTH,
  DEFAULT_SUBJECT_PATTERN,
} from '../src/index.js';
import { keyPair } from './support.js';

const rsa = keyPair('rsa');
const p256 = keyPair('P-256');
const p384 = keyPair('P-384');
const p521 = keyPair('P-521');

describe('start-up checks', () => {
  it('accepts a public key that fits the algorithm', () => {
    for (const algorithm of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const) {
      expect(checkPublicKey(rsa.publicPem, algorithm), algorithm).toBeUndefined();
    }
    expect(checkPublicKey(p256.publicPem, 'ES256')).toBeUndefined();
    expect(checkPublicKey(p384.publicPem, 'ES384')).toBeUndefined();
    expect(checkPublicKey(p521.publicPem, 'ES512')).toBeUndefined();
  });

  it('refuses a key of the wrong type or curve, naming the variable', () => {
    expect(checkPublicKey(rsa.publicPem, 'ES256')).toBe(
      'JWT_PUBLIC_KEY is an RSA key of 2048 bits; ES256 needs an EC key on curve P-256',
    );
    expect(checkPublicKey(p256.publicPem, 'RS256')).toBe(
      'JWT_PUBLIC_KEY is an EC key on curve P-256; RS256 needs an RSA key of at least 2048 bits',
    );
    expect(checkPublicKey(p384.publicPem, 'ES256')).toContain('is an EC key on curve P-384');
    expect(checkPublicKey(p256.publicPem, 'ES512')).toContain(
      'ES512 needs an EC key on curve P-521',
    );
    expect(checkPublicKey(keyPair('rsa1024').publicPem, 'RS256')).toContain(
      'is an RSA key of 1024 bits',
    );
    expect(checkPublicKey('not a pem', 'RS256', 'MY_KEY')).toMatch(
      /^MY_KEY is not a PEM public key/,
    );
    expect(checkPublicKey(rsa.publicPem, 'HS256')).toContain('JWT_SECRET_KEY');
    // The verifier refuses the same at creation, instead of refusing every token later.
    expect(() => createTokenVerifier({ algorithm: 'ES256', publicKey: rsa.publicPem })).toThrow(
      'the public key is an RSA key of 2048 bits; ES256 needs an EC key on curve P-256',
    );
  });

  it('refuses an HMAC secret shorter than 32 bytes', () => {
    expect(checkSecret('x'.repeat(32))).toBeUndefined();
    expect(checkSecret('twelve-bytes')).toMatch(
      /^JWT_SECRET_KEY is 12 bytes; an HMAC secret needs at least 32 bytes/,
    );
    // Bytes, not characters.
    expect(checkSecret('é'.repeat(16))).toBeUndefined();
  });

  it('checks JWKS files and URLs', () => {
    expect(checkJwksFile('/nonexistent.json', 'RS256')).toMatch(
      /^JWT_JWKS_FILE: cannot read the JWKS file/,
    );
    expect(checkJwksUrl('https://id.example/.well-known/jwks.json', 'RS256')).toBeUndefined();
    expect(checkJwksUrl('http://127.0.0.1:9000/jwks', 'ES256')).toBeUndefined();
    expect(checkJwksUrl('http://id.example/jwks', 'RS256')).toBe(
      'JWT_JWKS_URL must be an https:// URL (http:// only to localhost)',
    );
    expect(checkJwksUrl('https://u:p@id.example/jwks', 'RS256')).toBe(
      'JWT_JWKS_URL must not contain credentials',
    );
    expect(checkJwksUrl('https://id.example/jwks', 'HS256')).toContain('shared secret');
  });

  it('refuses subject rules that admit user ids publishers refuse', () => {
    expect(checkSubjectRules(DEFAULT_SUBJECT_PATTERN, DEFAULT_MAX_SUBJECT_LENGTH)).toBeUndefined();
    expect(checkSubjectRules('[0-9]+', 128)).toBeUndefined();
    expect(checkSubjectRules('.+', 128)).toMatch(/^JWT_SUBJECT_PATTERN admits " "/);
    expect(checkSubjectRules('[^ ]+', 128)).toMatch(/^JWT_SUBJECT_PATTERN admits/);
    expect(checkSubjectRules('[a-z]+', 300)).toBe(
      'JWT_MAX_SUBJECT_LENGTH is 300; publishers refuse user ids over 256 characters',
    );
    expect(checkSubjectRules('[a-z', 128)).toMatch(
      /^JWT_SUBJECT_PATTERN: subjectPattern is not a valid/,
    );
  });
});
