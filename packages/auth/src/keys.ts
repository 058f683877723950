import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';

/**
 * Algorithms the platform accepts; one is pinned per verifier. EdDSA is not among them:
 * `jsonwebtoken` does not verify it.
 */
export const supportedAlgorithms = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;
/** One of {@link supportedAlgorithms}. */
export type Algorithm = (typeof supportedAlgorithms)[number];

/** Fewest bytes of shared secret accepted for HS* at start: 256 bits (RFC 7518 3.2 for HS256). */
export const MIN_SECRET_BYTES = 32;

/** Smallest RSA modulus accepted for RS* and PS*, in bits. */
export const MIN_RSA_MODULUS_BITS = 2048;

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

// Node's names of the curves ES256/384/512 are defined on (RFC 7518 3.4), and their JOSE names.
const curves: Partial<Record<Algorithm, { node: string; jose: string }>> = {
  ES256: { node: 'prime256v1', jose: 'P-256' },
  ES384: { node: 'secp384r1', jose: 'P-384' },
  ES512: { node: 'secp521r1', jose: 'P-521' },
};

/** What kind of key `algorithm` needs, in words: `an EC key on curve P-256`. */
export function keyKindFor(algorithm: Algorithm): string {
  if (isHmac(algorithm)) return 'a shared secret';
  const curve = curves[algorithm];
  if (curve) return `an EC key on curve ${curve.jose}`;
  return `an RSA key of at least ${MIN_RSA_MODULUS_BITS} bits`;
}

function describeKey(key: KeyObject): string {
  if (key.type === 'secret') return 'a shared secret';
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const jose = Object.values(curves).find((c) => c.node === curve)?.jose ?? curve;
    return `an EC key on curve ${jose}`;
  }
  if (type === 'rsa' || type === 'rsa-pss') {
    return `an RSA key of ${key.asymmetricKeyDetails?.modulusLength} bits`;
  }
  return `an ${type ?? 'unknown'} key`;
}

/**
 * Why `key` cannot verify `algorithm` tokens, or `undefined` when it fits: HS* needs a secret,
 * RS* and PS* an RSA public key of at least 2048 bits, ES256/384/512 an EC public key on P-256,
 * P-384, P-521. `jsonwebtoken` would otherwise refuse every token at run time.
 */
export function keyProblem(key: KeyObject, algorithm: Algorithm): string | undefined {
  const needs = `${algorithm} needs ${keyKindFor(algorithm)}`;
  if (isHmac(algorithm)) {
    return key.type === 'secret' ? undefined : `is ${describeKey(key)}; ${needs}`;
  }
  if (key.type !== 'public') return `is ${describeKey(key)}; ${needs}`;
  const curve = curves[algorithm];
  const type = key.asymmetricKeyType;
  const fits = curve
    ? type === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve.node
    : (type === 'rsa' || (type === 'rsa-pss' && algorithm.startsWith('PS'))) &&
      (key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_MODULUS_BITS;
  return fits ? undefined : `is ${describeKey(key)}; ${needs}`;
}

/**
 * The key a verifier checks signatures with, built once. jsonwebtoken given a string secret first
 * tries to parse it as a PEM public key on every call, which dominates the cost of a verify; a
 * KeyObject skips that.
 * Throws when the key is missing, unreadable, or does not fit `algorithm`.
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
  const key = createPublicKey(publicKey);
  const problem = keyProblem(key, algorithm);
  if (problem !== undefined) throw new Error(`the public key ${problem}`);
  return key;
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
