import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { AuthError } from '../src/index.js';

/** A fresh key pair for tests: PEMs and the public JWK. */
export interface TestKeyPair {
  publicPem: string;
  privatePem: string;
  publicKey: KeyObject;
  jwk: Record<string, unknown>;
}

/** An RSA (2048-bit) or EC key pair, with `kid` set on its public JWK. */
export function keyPair(
  type: 'rsa' | 'P-256' | 'P-384' | 'P-521' | 'rsa1024',
  kid = 'k1',
): TestKeyPair {
  const pair =
    type === 'rsa' || type === 'rsa1024'
      ? generateKeyPairSync('rsa', { modulusLength: type === 'rsa' ? 2048 : 1024 })
      : generateKeyPairSync('ec', { namedCurve: type });
  return {
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey,
    jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig' },
  };
}

/** The `AuthError` code `action` throws, or `accepted` when it returns. Other errors propagate. */
export function refusalCode(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof AuthError) return error.code;
    throw error;
  }
  return 'accepted';
}
