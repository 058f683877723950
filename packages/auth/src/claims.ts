import {
  DEFAULT_MAX_LIFETIME_SECONDS,
  DEFAULT_MAX_SUBJECT_LENGTH,
  DEFAULT_SUBJECT_PATTERN,
} from './defaults.js';
import { AuthError } from './errors.js';

/** The claim options of a verifier (part of `VerifierOptions`). */
export interface ClaimOptions {
  /**
   * Longest lifetime accepted, seconds (default 86,400, a day): `exp - iat`. A token valid for
   * years (`exp` in 9999) would outlive any revocation.
   */
  maxLifetimeSeconds?: number;
  /**
   * Accept tokens without `iat` (default `false`: refused as `token_missing_iat`). Such a token
   * is judged as issued at `exp - maxLifetimeSeconds`, the earliest it can have been issued: that
   * time must not be in the future (else `token_lifetime_too_long`), and it is the `issuedAt`
   * revocation compares.
   */
  allowMissingIat?: boolean;
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
  /**
   * When the token was issued, epoch seconds: its `iat`, or (without `iat`, when allowed)
   * `exp - maxLifetimeSeconds`. Revocation (`isRevoked(issuedAt, revokedBefore)`) compares this.
   */
  issuedAt: number;
  /** The `kid` header that chose the key, when the verifier has a key set. */
  keyId?: string;
  /** Every claim of the token. */
  claims: Record<string, unknown>;
}

/** The claim rules of one verifier, fixed at creation. */
export interface ClaimRules {
  readonly toleranceSeconds: number;
  readonly maxLifetimeSeconds: number;
  readonly allowMissingIat: boolean;
  readonly maxSubjectLength: number;
  readonly subjectPattern: RegExp;
}

/** The rules of `options`, checked: throws a plain Error naming a bad option. */
export function claimRules(options: ClaimOptions, toleranceSeconds: number): ClaimRules {
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
    allowMissingIat: options.allowMissingIat === true,
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

/** Checks the claims of a token whose signature, `exp`, `nbf`, `aud` and `iss` passed. */
export function checkClaims(
  payload: unknown,
  rules: ClaimRules,
  keyId: string | undefined,
): VerifiedToken {
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
  const issuedAt = issueTime(iat, exp, rules);
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
  return {
    userId: sub,
    expiresAt: exp * 1000,
    issuedAt,
    ...(keyId === undefined ? {} : { keyId }),
    claims,
  };
}

/** The issue time of a token (epoch seconds) after the `iat` and lifetime rules. */
function issueTime(iat: unknown, exp: number, rules: ClaimRules): number {
  const now = Date.now() / 1000;
  if (iat === undefined) {
    if (!rules.allowMissingIat) {
      throw new AuthError(
        'token_missing_iat',
        'the token has no iat claim: its lifetime and revocation cannot be judged',
      );
    }
    // The earliest it can have been issued under the lifetime rule; later than now means it is
    // valid for longer than the maximum from now on.
    const judged = exp - rules.maxLifetimeSeconds;
    if (judged > now + rules.toleranceSeconds) {
      throw new AuthError(
        'token_lifetime_too_long',
        `the token (no iat) is valid until ${isoTime(exp)}, longer than the ${rules.maxLifetimeSeconds} s accepted from now`,
      );
    }
    return judged;
  }
  if (typeof iat !== 'number') {
    throw new AuthError('token_claims', 'the token has an iat claim that is not a number');
  }
  if (iat > now + rules.toleranceSeconds) {
    throw new AuthError(
      'token_issued_in_future',
      `the token claims to be issued at ${isoTime(iat)}, in the future`,
    );
  }
  if (exp - iat > rules.maxLifetimeSeconds) {
    throw new AuthError(
      'token_lifetime_too_long',
      `the token is valid until ${isoTime(exp)}, longer than the ${rules.maxLifetimeSeconds} s accepted`,
    );
  }
  return iat;
}

/** An epoch-seconds claim as ISO time, or the raw number when no Date can hold it. */
function isoTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}
