import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';

/** Algorithms the platform accepts; one is pinned per verifier. */
export const supportedAlgorithms = ['HS256', 'HS384', 'HS512', 'RS256', 'ES256'] as const;
/** One of {@link supportedAlgorithms}. */
export type Algorithm = (typeof supportedAlgorithms)[number];

/** True for the shared-secret (HMAC) algorithms. */
export function isHmac(algorithm: Algorithm): boolean {
  return algorithm.startsWith('HS');
}

/** Throws a clear error unless `value` is a supported algorithm name. */
export function parseAlgorithm(value: string): Algorithm {
  if ((supportedAlgorithms as readonly string[]).includes(value)) return value as Algorithm;
  throw new Error(
    `unsupported JWT algorithm ${JSON.stringify(value)}: use one of ${supportedAlgorithms.join(', ')}`,
  );
}

/**
 * The key a verifier checks signatures with, built once. jsonwebtoken given a string secret first
 * tries to parse it as a PEM public key on every call, which dominates the cost of a verify; a
 * KeyObject skips that.
 */
export function verificationKey(
  algorithm: Algorithm,
  secret: string | undefined,
  publicKey: string | undefined,
): KeyObject {
  if (isHmac(algorithm)) {
    if (!secret) throw new Error(`a secret is required for ${algorithm}`);
    return createSecretKey(Buffer.from(secret, 'utf8'));
  }
  if (!publicKey) throw new Error(`a PEM public key is required for ${algorithm}`);
  return createPublicKey(publicKey);
}

/** The key a signer signs with: the shared secret for HS*, the PEM private key otherwise. */
export function signingKey(
  algorithm: Algorithm,
  secret: string | undefined,
  privateKey: string | undefined,
): KeyObject {
  if (isHmac(algorithm)) {
    if (!secret) throw new Error(`a secret is required for ${algorithm}`);
    return createSecretKey(Buffer.from(secret, 'utf8'));
  }
  if (!privateKey) throw new Error(`a PEM private key is required for ${algorithm}`);
  return createPrivateKey(privateKey);
}
