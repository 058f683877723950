import jwt from 'jsonwebtoken';
import {
  DEFAULT_AUDIENCE,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_ISSUER,
  MAX_TOKEN_LENGTH,
} from './defaults.js';
import { AuthError } from './errors.js';
import { type Algorithm, parseAlgorithm, verificationKey } from './keys.js';

/** How a verifier checks tokens. */
export interface VerifierOptions {
  /** Shared secret for HS256/HS384/HS512 (the service's `JWT_SECRET_KEY`). */
  secret?: string;
  /** PEM public key for RS256/ES256. */
  publicKey?: string;
  /** The one algorithm accepted (default `HS256`); `none` and algorithm switching never pass. */
  algorithm?: Algorithm | string;
  /** Required `aud` (default `huleedu-platform`). */
  audience?: string;
  /** Required `iss` (default `huleedu-identity-service`). */
  issuer?: string;
  /** Clock skew tolerated on `exp`/`nbf`, seconds (default 5). */
  clockToleranceSeconds?: number;
}

/** A token that passed every check. */
export interface VerifiedToken {
  /** The `sub` claim. */
  userId: string;
  /** When the token expires (`exp`), epoch milliseconds. */
  expiresAt: number;
  /** Every claim of the token. */
  claims: Record<string, unknown>;
}

/** Checks tokens with keys and options fixed at creation. */
export interface TokenVerifier {
  /** The verified token, or throws an {@link AuthError} with a reason code. */
  verify(token: string | null | undefined): VerifiedToken;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Creates a verifier. The key object is built here, once, so each `verify` costs microseconds.
 * Throws a plain Error for bad options (missing secret, unsupported algorithm, bad PEM).
 */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const algorithm = parseAlgorithm(options.algorithm ?? 'HS256');
  const key = verificationKey(algorithm, options.secret, options.publicKey);
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new Error(`clockToleranceSeconds must be a non-negative number, got ${tolerance}`);
  }
  const verifyOptions: jwt.VerifyOptions & { complete?: false } = {
    algorithms: [algorithm],
    audience: options.audience ?? DEFAULT_AUDIENCE,
    issuer: options.issuer ?? DEFAULT_ISSUER,
    clockTolerance: tolerance,
  };

  return {
    verify(token) {
      if (token === null || token === undefined || token === '') {
        throw new AuthError('token_missing', 'no token was given');
      }
      if (token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) {
        throw new AuthError('token_malformed', 'the token is not a compact JWT');
      }
      checkHeader(token, algorithm);
      let payload: unknown;
      try {
        payload = jwt.verify(token, key, verifyOptions);
      } catch (error) {
        throw translate(error);
      }
      return checkClaims(payload);
    },
  };
}

function checkHeader(token: string, algorithm: Algorithm): void {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString());
  } catch {
    throw new AuthError('token_malformed', 'the token header is not JSON');
  }
  const alg = (header as { alg?: unknown } | null)?.alg;
  if (alg !== algorithm) {
    throw new AuthError(
      'token_algorithm',
      `the token is signed with ${JSON.stringify(alg)}, only ${algorithm} is accepted`,
    );
  }
}

function checkClaims(payload: unknown): VerifiedToken {
  if (typeof payload !== 'object' || payload === null) {
    throw new AuthError('token_malformed', 'the token payload is not a JSON object');
  }
  const claims = payload as Record<string, unknown>;
  if (typeof claims.exp !== 'number') {
    throw new AuthError('token_claims', 'the token has no exp claim');
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') {
    throw new AuthError('token_claims', 'the token has no sub claim (the user id)');
  }
  return { userId: claims.sub, expiresAt: claims.exp * 1000, claims };
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
