import type { KeyObject } from 'node:crypto';
import { MAX_TOKEN_LENGTH } from '@huleedu/ws-protocol';
import jwt from 'jsonwebtoken';
import { type ClaimOptions, checkClaims, claimRules, type VerifiedToken } from './claims.js';
import { DEFAULT_AUDIENCE, DEFAULT_CLOCK_TOLERANCE_SECONDS, DEFAULT_ISSUER } from './defaults.js';
import { AuthError } from './errors.js';
import { buildKeySet, type JsonWebKeySet, keyForKid, readKeySetFile } from './key-set.js';
import { type Algorithm, parseAlgorithm, verificationKey } from './keys.js';

/** What every verifier shares: the pinned algorithm and the claim rules. */
export interface TokenRuleOptions extends ClaimOptions {
  /** The one algorithm accepted (default `HS256`); `none` and algorithm switching never pass. */
  algorithm?: Algorithm | string;
  /** Required `aud` (default `huleedu-platform`). */
  audience?: string;
  /** Required `iss` (default `huleedu-identity-service`). */
  issuer?: string;
  /** Clock skew tolerated on `exp`/`nbf`/`iat`, seconds (default 5). */
  clockToleranceSeconds?: number;
}

/**
 * How a verifier checks tokens. The key comes from exactly one source: `secret` (HS*),
 * `publicKey` (RS*, PS*, ES*), or a key set chosen by `kid` (`jwks` or `jwksFile`). A JWKS URL
 * needs network reads: see `createRemoteTokenVerifier`.
 */
export interface VerifierOptions extends TokenRuleOptions {
  /** Shared secret for HS256/HS384/HS512 (the service's `JWT_SECRET_KEY`). */
  secret?: string;
  /** PEM public key for RS*, PS* and ES*. */
  publicKey?: string;
  /** A JWKS (object or JSON text): several keys at once, the token's `kid` chooses one. */
  jwks?: JsonWebKeySet | string;
  /** A JWKS file, read once at creation (restart, or create a new verifier, to reload it). */
  jwksFile?: string;
}

/** Checks tokens with keys and options fixed at creation. */
export interface TokenVerifier {
  /** The verified token, or throws an {@link AuthError} with a reason code. */
  verify(token: string | null | undefined): VerifiedToken;
}

/** The fixed parts of a verifier: what jsonwebtoken checks, and the claim rules after it. */
export interface TokenRules {
  readonly algorithm: Algorithm;
  readonly jwtOptions: jwt.VerifyOptions & { complete?: false };
  readonly claims: ReturnType<typeof claimRules>;
}

/** The rules of `options`, checked: throws a plain Error naming a bad option. */
export function tokenRules(options: TokenRuleOptions): TokenRules {
  const algorithm = parseAlgorithm(options.algorithm ?? 'HS256');
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new Error(`clockToleranceSeconds must be a non-negative number, got ${tolerance}`);
  }
  return {
    algorithm,
    claims: claimRules(options, tolerance),
    jwtOptions: {
      algorithms: [algorithm],
      audience: options.audience ?? DEFAULT_AUDIENCE,
      issuer: options.issuer ?? DEFAULT_ISSUER,
      clockTolerance: tolerance,
    },
  };
}

/**
 * Creates a verifier. The key objects are built here, once, so each `verify` costs microseconds.
 * Throws a plain Error for bad options (no key or two key sources, unsupported algorithm, bad
 * PEM or JWKS, a key that does not fit the algorithm).
 */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const rules = tokenRules(options);
  const keyFor = keySource(options, rules.algorithm);
  return {
    verify(token) {
      const { kid } = readHeader(token, rules.algorithm);
      return verifySignedToken(token as string, keyFor(kid), kid, rules);
    },
  };
}

function keySource(
  options: VerifierOptions,
  algorithm: Algorithm,
): (kid: string | undefined) => KeyObject {
  const { jwks, jwksFile } = options;
  if (jwks === undefined && jwksFile === undefined) {
    // A single key: any kid (or none) is fine.
    const key = verificationKey(algorithm, options.secret, options.publicKey);
    return () => key;
  }
  if (jwks !== undefined && jwksFile !== undefined) {
    throw new Error('give jwks or jwksFile, not both');
  }
  if (options.secret !== undefined || options.publicKey !== undefined) {
    throw new Error(
      'give one key source: a key set (jwks, jwksFile) or a single secret/publicKey, not both',
    );
  }
  const set =
    jwksFile !== undefined ? readKeySetFile(jwksFile, algorithm) : buildKeySet(jwks, algorithm);
  return (kid) => keyForKid(set, kid);
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Checks what can be checked before a key is chosen: a token is present, has the compact shape,
 * names exactly the pinned algorithm and no `crit`. Returns its `kid` (a string, or undefined).
 */
export function readHeader(
  token: string | null | undefined,
  algorithm: Algorithm,
): { kid: string | undefined } {
  if (token === null || token === undefined || token === '') {
    throw new AuthError('token_missing', 'no token was given');
  }
  if (token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) {
    throw new AuthError('token_malformed', 'the token is not a compact JWT');
  }
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString());
  } catch {
    throw new AuthError('token_malformed', 'the token header is not JSON');
  }
  const fields = header as { alg?: unknown; crit?: unknown; kid?: unknown } | null;
  const alg = fields?.alg;
  if (alg !== algorithm) {
    throw new AuthError(
      'token_algorithm',
      `the token is signed with ${JSON.stringify(alg)}, only ${algorithm} is accepted`,
    );
  }
  // RFC 7515 4.1.11: a recipient that does not understand every listed extension must refuse.
  // jsonwebtoken ignores `crit`, and this verifier understands no extension.
  if (fields !== null && typeof fields === 'object' && 'crit' in fields) {
    throw new AuthError('token_crit_unsupported', 'the token header has crit extensions');
  }
  const kid = fields?.kid;
  return { kid: typeof kid === 'string' && kid !== '' ? kid : undefined };
}

/** Checks the signature with `key`, then every claim rule. */
export function verifySignedToken(
  token: string,
  key: KeyObject,
  kid: string | undefined,
  rules: TokenRules,
): VerifiedToken {
  let payload: unknown;
  try {
    payload = jwt.verify(token, key, rules.jwtOptions);
  } catch (error) {
    throw translate(error);
  }
  return checkClaims(payload, rules.claims, kid);
}

function translate(error: unknown): AuthError {
  if (error instanceof jwt.TokenExpiredError) {
    return new AuthError('token_expired', `the token expired at ${error.expiredAt.toISOString()}`);
  }
  if (error instanceof jwt.NotBeforeError) {
    return new AuthError(
      'token_not_active',
      `the token is not valid before ${error.date.toISOString()}`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (message === 'invalid signature' || message === 'jwt signature is required') {
    return new AuthError('token_invalid_signature', 'the token signature does not match');
  }
  if (message.startsWith('jwt audience invalid') || message.startsWith('jwt issuer invalid')) {
    return new AuthError('token_claims', message.replace(/^jwt /, 'the token '));
  }
  if (message.includes('algorithm')) {
    return new AuthError('token_algorithm', message);
  }
  return new AuthError('token_malformed', `the token could not be read: ${message}`);
}
