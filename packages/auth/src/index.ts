export { type ClaimOptions, type VerifiedToken, wholeValuePattern } from './claims.js';
export {
  DEFAULT_AUDIENCE,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_ISSUER,
  DEFAULT_MAX_LIFETIME_SECONDS,
  DEFAULT_MAX_SUBJECT_LENGTH,
  DEFAULT_SUBJECT_PATTERN,
  MAX_TOKEN_LENGTH,
} from './defaults.js';
export { AuthError, type AuthErrorCode, KeysUnavailableError } from './errors.js';
export { buildKeySet, type JsonWebKeySet, type KeySet, MAX_KID_LENGTH } from './key-set.js';
export {
  type Algorithm,
  keyProblem,
  MIN_RSA_MODULUS_BITS,
  MIN_SECRET_BYTES,
  parseAlgorithm,
  supportedAlgorithms,
} from './keys.js';
export { verifyRefresh } from './refresh.js';
export {
  jwksUrlProblem,
  type RemoteKeySetOptions,
  remoteKeySetDefaults,
} from './remote-key-set.js';
export {
  createRemoteTokenVerifier,
  type RemoteTokenVerifier,
  type RemoteVerifierOptions,
} from './remote-verify.js';
export { type SignOptions, signToken } from './sign.js';
export {
  checkJwksFile,
  checkJwksUrl,
  checkPublicKey,
  checkSecret,
  checkSubjectRules,
} from './startup-checks.js';
export {
  createTokenVerifier,
  type TokenRuleOptions,
  type TokenVerifier,
  type VerifierOptions,
} from './verify.js';
