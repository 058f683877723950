import { createPublicKey } from 'node:crypto';
import { MAX_USER_ID_LENGTH, subjectPatternProblem } from '@huleedu/ws-protocol';
import { wholeValuePattern } from './claims.js';
import { readKeySetFile } from './key-set.js';
import { type Algorithm, isHmac, keyKindFor, keyProblem, MIN_SECRET_BYTES } from './keys.js';
import { jwksUrlProblem } from './remote-key-set.js';

// Checks a service runs on its configuration before it starts: each returns a message that
// names the variable (`variable`, defaulting to the service's name for it), or undefined.

/**
 * Why the PEM in `variable` cannot verify `algorithm` tokens: unreadable, or of the wrong type
 * or curve (RS* and PS*: RSA of at least 2048 bits; ES256: EC P-256; ES384: P-384; ES512: P-521).
 */
export function checkPublicKey(
  pem: string,
  algorithm: Algorithm,
  variable = 'JWT_PUBLIC_KEY',
): string | undefined {
  if (isHmac(algorithm)) {
    return `${variable} is set, but JWT_ALGORITHM ${algorithm} verifies with a shared secret (JWT_SECRET_KEY)`;
  }
  let problem: string | undefined;
  try {
    problem = keyProblem(createPublicKey(pem), algorithm);
  } catch (error) {
    return `${variable} is not a PEM public key (${(error as Error).message}); ${algorithm} needs ${keyKindFor(algorithm)}`;
  }
  return problem === undefined ? undefined : `${variable} ${problem}`;
}

/** Why the HS* secret in `variable` is too weak: shorter than 32 bytes (UTF-8). */
export function checkSecret(secret: string, variable = 'JWT_SECRET_KEY'): string | undefined {
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes >= MIN_SECRET_BYTES) return undefined;
  return `${variable} is ${bytes} bytes; an HMAC secret needs at least ${MIN_SECRET_BYTES} bytes (256 bits), e.g. openssl rand -base64 48`;
}

/** Why the JWKS file in `variable` cannot verify `algorithm` tokens (unreadable, bad key, ...). */
export function checkJwksFile(
  path: string,
  algorithm: Algorithm,
  variable = 'JWT_JWKS_FILE',
): string | undefined {
  try {
    readKeySetFile(path, algorithm);
    return undefined;
  } catch (error) {
    return `${variable}: ${(error as Error).message}`;
  }
}

/** Why the JWKS URL in `variable` cannot be used with `algorithm` (see `jwksUrlProblem`). */
export function checkJwksUrl(
  url: string,
  algorithm: Algorithm,
  variable = 'JWT_JWKS_URL',
): string | undefined {
  if (isHmac(algorithm)) {
    return `${variable} publishes public keys, but JWT_ALGORITHM ${algorithm} uses a shared secret`;
  }
  const problem = jwksUrlProblem(url);
  return problem === undefined ? undefined : `${variable} ${problem}`;
}

/**
 * Why the subject rules let through a user id that publishers (`@huleedu/notify`) refuse, so
 * its user could never be sent a notification: a maximum length above theirs (256), or a pattern
 * that admits one of the probes of `subjectPatternProblem` (whitespace, control and glob
 * characters, `}`, overlong ids). Also refuses a pattern that does not compile.
 */
export function checkSubjectRules(
  pattern: RegExp | string,
  maxSubjectLength: number,
  variable = 'JWT_SUBJECT_PATTERN',
  lengthVariable = 'JWT_MAX_SUBJECT_LENGTH',
): string | undefined {
  if (maxSubjectLength > MAX_USER_ID_LENGTH) {
    return `${lengthVariable} is ${maxSubjectLength}; publishers refuse user ids over ${MAX_USER_ID_LENGTH} characters`;
  }
  let whole: RegExp;
  try {
    whole = wholeValuePattern(pattern);
  } catch (error) {
    return `${variable}: ${(error as Error).message}`;
  }
  const problem = subjectPatternProblem((id) => id.length <= maxSubjectLength && whole.test(id));
  return problem === undefined ? undefined : `${variable} ${problem}`;
}
