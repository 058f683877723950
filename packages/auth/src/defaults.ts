/** The platform's token audience (`aud`). */
export const DEFAULT_AUDIENCE = 'huleedu-platform';
/** The platform's token issuer (`iss`). */
export const DEFAULT_ISSUER = 'huleedu-identity-service';
/** Clock skew tolerated on `exp` and `nbf`, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;
/** Longest token accepted; anything longer is refused as malformed before any parsing. */
export const MAX_TOKEN_LENGTH = 8192;
