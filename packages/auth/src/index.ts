export {
  DEFAULT_AUDIENCE,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_ISSUER,
  DEFAULT_MAX_LIFETIME_SECONDS,
  DEFAULT_MAX_SUBJECT_LENGTH,
  DEFAULT_SUBJECT_PATTERN,
  MAX_TOKEN_LENGTH,
} from './defaults.js';
export { AuthError, type AuthErrorCode } from './errors.js';
export { type Algorithm, parseAlgorithm, supportedAlgorithms } from './keys.js';
export { type SignOptions, signToken } from './sign.js';
export {
  createTokenVerifier,
  type TokenVerifier,
  type VerifiedToken,
  type VerifierOptions,
  wholeValuePattern,
} from './verify.js';
