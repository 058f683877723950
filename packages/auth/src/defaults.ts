/** The platform's token audience (`aud`). */
export const DEFAULT_AUDIENCE = 'huleedu-platform';
/** The platform's token issuer (`iss`). */
export const DEFAULT_ISSUER = 'huleedu-identity-service';
/** Clock skew tolerated on `exp` and `nbf`, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;
/** Longest token accepted; anything longer is refused as malformed before any parsing. */
export { MAX_TOKEN_LENGTH } from '@huleedu/ws-protocol';
/** Longest accepted token lifetime (`exp - iat`), in seconds: a day. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 24 * 60 * 60;
/** Longest accepted `sub` (the user id, which becomes a Redis channel name), in characters. */
export const DEFAULT_MAX_SUBJECT_LENGTH = 128;
/**
 * Characters accepted in `sub`: letters, digits and `. _ : @ -` (UUIDs, numeric ids, slugs,
 * e-mail-like ids). No spaces, no control characters, no braces: `{...}` in a key is a Redis
 * Cluster hash tag, and the channel name is `<prefix>:<sub>`.
 */
export const DEFAULT_SUBJECT_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;
