import jwt from 'jsonwebtoken';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from './defaults.js';
import { type Algorithm, parseAlgorithm, signingKey } from './keys.js';

/** Options of {@link signToken}. */
export interface SignOptions {
  /** Shared secret for HS*. */
  secret?: string;
  /** PEM private key for RS*, PS* and ES*. */
  privateKey?: string;
  /** Default `HS256`. */
  algorithm?: Algorithm | string;
  /** Lifetime in seconds from now (default 3600); negative for an already expired token; `null` omits `exp`. */
  expiresInSeconds?: number | null;
  /** `aud` (default `huleedu-platform`). */
  audience?: string;
  /** `iss` (default `huleedu-identity-service`). */
  issuer?: string;
  /** `nbf`, seconds from now. */
  notBeforeSeconds?: number;
  /** Extra claims (may override `sub` etc. for tests of bad tokens; `undefined` removes one). */
  claims?: Record<string, unknown>;
  /** Extra JWS header fields (`crit`, `kid`, ...), for tests of bad tokens; `alg` is always set. */
  header?: Record<string, unknown>;
}

/**
 * Signs a token for `userId` (the `sub` claim). For tests, the demo and local development: in
 * production the identity service issues tokens.
 */
export function signToken(userId: string, options: SignOptions): string {
  const algorithm = parseAlgorithm(options.algorithm ?? 'HS256');
  const key = signingKey(algorithm, options.secret, options.privateKey);
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = options.expiresInSeconds === undefined ? 3600 : options.expiresInSeconds;
  const payload: Record<string, unknown> = {
    sub: userId,
    aud: options.audience ?? DEFAULT_AUDIENCE,
    iss: options.issuer ?? DEFAULT_ISSUER,
    iat: now,
    ...(expiresIn === null ? {} : { exp: now + expiresIn }),
    ...(options.notBeforeSeconds === undefined ? {} : { nbf: now + options.notBeforeSeconds }),
    ...options.claims,
  };
  // A claim set to undefined is left out (`claims: { iat: undefined }` signs a token without iat).
  for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name];
  return jwt.sign(payload, key, {
    algorithm,
    noTimestamp: !('iat' in payload),
    ...(options.header === undefined
      ? {}
      : { header: { ...options.header, alg: algorithm } as jwt.JwtHeader }),
  });
}
