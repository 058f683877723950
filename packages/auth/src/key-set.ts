import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AuthError } from './errors.js';
import { type Algorithm, isHmac, keyProblem } from './keys.js';

/** A JSON Web Key Set (RFC 7517 5): `{"keys": [{kid, kty, ...}, ...]}`. */
export interface JsonWebKeySet {
  keys: JsonWebKey[];
}

/** Longest `kid` looked up; anything longer names no key and is refused before any lookup. */
export const MAX_KID_LENGTH = 256;

/** Verification keys by `kid`, every one fitting the pinned algorithm. */
export type KeySet = ReadonlyMap<string, KeyObject>;

/**
 * Builds the keys of a JWKS (the object, or its JSON text) for `algorithm`. Keys whose `use` is
 * not `sig` are skipped. Every other key must have a unique non-empty `kid`, fit `algorithm`
 * (type and curve; `oct` keys for HS*), and carry no other `alg` than it; otherwise this throws,
 * naming `source` and the key. A set with no usable key throws too.
 */
export function buildKeySet(jwks: unknown, algorithm: Algorithm, source = 'the JWKS'): KeySet {
  let value = jwks;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new Error(`${source} is not JSON: ${(error as Error).message}`);
    }
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error(`${source} has no "keys" list`);
  const set = new Map<string, KeyObject>();
  keys.forEach((jwk: unknown, index) => {
    const fields = (jwk ?? {}) as JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown };
    if (fields.use !== undefined && fields.use !== 'sig') return;
    const kid = fields.kid;
    const where = `${source}: key ${typeof kid === 'string' ? JSON.stringify(kid) : `#${index}`}`;
    if (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID_LENGTH) {
      throw new Error(
        `${where} has no kid (1-${MAX_KID_LENGTH} characters): tokens choose keys by kid`,
      );
    }
    if (set.has(kid)) throw new Error(`${where} appears twice`);
    if (fields.alg !== undefined && fields.alg !== algorithm) {
      throw new Error(`${where} is for ${String(fields.alg)}; only ${algorithm} is accepted`);
    }
    const key = importKey(fields, algorithm, where);
    const problem = keyProblem(key, algorithm);
    if (problem !== undefined) throw new Error(`${where} ${problem}`);
    set.set(kid, key);
  });
  if (set.size === 0) throw new Error(`${source} has no signing key`);
  return set;
}

function importKey(jwk: JsonWebKey, algorithm: Algorithm, where: string): KeyObject {
  try {
    if (jwk.kty === 'oct') {
      if (!isHmac(algorithm))
        throw new Error(`is a shared secret; ${algorithm} needs a public key`);
      if (typeof jwk.k !== 'string' || jwk.k === '') throw new Error('has no "k"');
      return createSecretKey(Buffer.from(jwk.k, 'base64url'));
    }
    if (typeof jwk.d === 'string') throw new Error('is a private key; publish public keys only');
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch (error) {
    throw new Error(`${where} ${(error as Error).message}`);
  }
}

/** Reads a JWKS file and builds its keys for `algorithm` (see {@link buildKeySet}). */
export function readKeySetFile(path: string, algorithm: Algorithm): KeySet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the JWKS file ${path}: ${(error as Error).message}`);
  }
  return buildKeySet(text, algorithm, `the JWKS file ${path}`);
}

/**
 * The key a token's `kid` chooses from `set`, or an {@link AuthError} `token_key_unknown`: with a
 * key set, a token must name its key.
 */
export function keyForKid(set: KeySet, kid: string | undefined): KeyObject {
  if (kid === undefined) {
    throw new AuthError('token_key_unknown', 'the token has no kid header, which chooses the key');
  }
  const key = set.get(kid);
  if (key === undefined) throw unknownKid(kid);
  return key;
}

/** The refusal of a `kid` that names no known key (the kid is shortened for the message). */
export function unknownKid(kid: string, where = 'the key set'): AuthError {
  const shown = kid.length > 40 ? `${kid.slice(0, 40)}...` : kid;
  return new AuthError('token_key_unknown', `no key with kid ${JSON.stringify(shown)} in ${where}`);
}
