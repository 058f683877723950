import jwt from 'jsonwebtoken';
import {
  DEFAULT_AUDIENCE,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_ISSUER,
  DEFAULT_MAX_LIFETIME_SECONDS,
  DEFAULT_MAX_SUBJECT_LENGTH,
  DEFAULT_SUBJECT_PATTERN,
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
  /** Clock skew tolerated on `exp`/`nbf`/`iat`, seconds (default 5). */
  clockToleranceSeconds?: number;
  /**
   * Longest lifetime accepted, seconds (default 86,400, a day): `exp - iat`, or `exp - now` when
   * there is no `iat`. A token valid for years (`exp` in 9999) would outlive any revocation.
   */
  maxLifetimeSeconds?: number;
  /** Longest `sub` accepted, characters (default 128): `sub` becomes a Redis channel name. */
  maxSubjectLength?: number;
  /**
   * What `sub` must look like, matched against the whole value (anchors are implied; `g`/`y`
   * flags are dropped). Default {@link DEFAULT_SUBJECT_PATTERN}: letters, digits, `. _ : @ -`.
   */
  subjectPattern?: RegExp | string;
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
  const rules = claimRules(options, tolerance);
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
      return checkClaims(payload, rules);
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
  const fields = header as { alg?: unknown; crit?: unknown } | null;
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
}

/** The claim rules of one verifier, fixed at creation. */
interface ClaimRules {
  readonly toleranceSeconds: number;
  readonly maxLifetimeSeconds: number;
  readonly maxSubjectLength: number;
  readonly subjectPattern: RegExp;
}

function claimRules(options: VerifierOptions, toleranceSeconds: number): ClaimRules {
  const maxLifetimeSeconds = options.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS;
  if (!Number.isFinite(maxLifetimeSeconds) || maxLifetimeSeconds <= 0) {
    throw new Error(`maxLifetimeSeconds must be a positive number, got ${maxLifetimeSeconds}`);
  }
  const maxSubjectLength = options.maxSubjectLength ?? DEFAULT_MAX_SUBJECT_LENGTH;
  if (!Number.isInteger(maxSubjectLength) || maxSubjectLength <= 0) {
    throw new Error(`maxSubjectLength must be a positive integer, got ${maxSubjectLength}`);
  }
  return {
    toleranceSeconds,
    maxLifetimeSeconds,
    maxSubjectLength,
    subjectPattern: wholeValuePattern(options.subjectPattern ?? DEFAULT_SUBJECT_PATTERN),
  };
}

/**
 * `pattern` as a RegExp that must match the whole value: an unanchored `[a-z]+` would otherwise
 * pass `a b` on its first letter. Stateful flags (`g`, `y`) would make `test` skip on reuse.
 * Throws a clear error when `pattern` does not compile (the service checks its configuration
 * with this at start).
 */
export function wholeValuePattern(pattern: RegExp | string): RegExp {
  const source = typeof pattern === 'string' ? pattern : pattern.source;
  const flags = typeof pattern === 'string' ? '' : pattern.flags.replace(/[gy]/g, '');
  try {
    return new RegExp(`^(?:${source})$`, flags);
  } catch (error) {
    throw new Error(
      `subjectPattern is not a valid regular expression: ${(error as Error).message}`,
    );
  }
}

function checkClaims(payload: unknown, rules: ClaimRules): VerifiedToken {
  if (typeof payload !== 'object' || payload === null) {
    throw new AuthError('token_malformed', 'the token payload is not a JSON object');
  }
  const claims = payload as Record<string, unknown>;
  const { iat, exp, sub } = claims;
  if (typeof exp !== 'number') {
    throw new AuthError('token_claims', 'the token has no exp claim');
  }
  if (typeof sub !== 'string' || sub === '') {
    throw new AuthError('token_claims', 'the token has no sub claim (the user id)');
  }
  if (iat !== undefined && typeof iat !== 'number') {
    throw new AuthError('token_claims', 'the token has an iat claim that is not a number');
  }
  const now = Date.now() / 1000;
  if (iat !== undefined && iat > now + rules.toleranceSeconds) {
    throw new AuthError(
      'token_issued_in_future',
      `the token claims to be issued at ${isoTime(iat)}, in the future`,
    );
  }
  // Without iat the issue time is unknown; the token may have been issued at most now (plus skew).
  const lifetime = iat === undefined ? exp - now - rules.toleranceSeconds : exp - iat;
  if (lifetime > rules.maxLifetimeSeconds) {
    throw new AuthError(
      'token_lifetime_too_long',
      `the token is valid until ${isoTime(exp)}, longer than the ${rules.maxLifetimeSeconds} s accepted`,
    );
  }
  // Length first: the pattern may be configured, and a bounded input keeps any RegExp cheap.
  if (sub.length > rules.maxSubjectLength) {
    throw new AuthError(
      'token_subject_invalid',
      `the token's sub is ${sub.length} characters, more than the ${rules.maxSubjectLength} accepted`,
    );
  }
  if (!rules.subjectPattern.test(sub)) {
    throw new AuthError(
      'token_subject_invalid',
      "the token's sub has characters that are not allowed in a user id",
    );
  }
  return { userId: sub, expiresAt: exp * 1000, claims };
}

/** An epoch-seconds claim as ISO time, or the raw number when no Date can hold it. */
function isoTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
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
