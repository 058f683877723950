import * as z from 'zod/mini';
import { count } from './fields.js';
import { MAX_TOKEN_LENGTH } from './token-transport.js';

/**
 * In-band token refresh: before its token expires, a client sends a fresh token over the open
 * socket; the service verifies it with the same rules as a handshake token, requires the same
 * user (`sub`), moves the socket's expiry and answers {@link refreshEvents.TOKEN_REFRESHED}. A
 * refused refresh closes the socket with 1008 and the token's reason (`token_expired`,
 * `token_subject_mismatch`, ...), as a refused handshake does. No reconnect, no history sync.
 *
 * - `ws.refresh_token` (client to service) {@link RefreshTokenData}: `{"event":"ws.refresh_token","data":{"token":"<JWT>"}}`
 * - `ws.token_refreshed` (service to client) {@link TokenRefreshedData}: `{"event":"ws.token_refreshed","data":{"expires_at":1767225600000}}`
 */
export const refreshEvents = {
  REFRESH_TOKEN: 'ws.refresh_token',
  TOKEN_REFRESHED: 'ws.token_refreshed',
} as const;

/**
 * `data` of a `ws.refresh_token` message: the fresh token. Loose: later fields may be added.
 * Built by a pure call: a browser bundle that only sends refresh frames leaves it out.
 */
export const refreshTokenDataSchema = /* @__PURE__ */ (() =>
  z.looseObject(
    {
      token: z
        .string('a token')
        .check(
          z.minLength(1, `a token (1-${MAX_TOKEN_LENGTH} characters)`),
          z.maxLength(MAX_TOKEN_LENGTH, `a token (1-${MAX_TOKEN_LENGTH} characters)`),
        ),
    },
    'an object',
  ))();
/** `data` of a `ws.refresh_token` message. */
export type RefreshTokenData = z.infer<typeof refreshTokenDataSchema>;

/** A whole `ws.refresh_token` message as a client sends it (built by a pure call too). */
export const refreshTokenMessageSchema = /* @__PURE__ */ (() =>
  z.looseObject(
    {
      event: z.literal(refreshEvents.REFRESH_TOKEN, `"${refreshEvents.REFRESH_TOKEN}"`),
      data: refreshTokenDataSchema,
    },
    'an object',
  ))();

/**
 * `data` of a `ws.token_refreshed` message: `expires_at`, when the socket's new token expires
 * (epoch milliseconds), so the client schedules its next refresh. Loose: later fields may be added.
 */
export const tokenRefreshedDataSchema = z.looseObject(
  {
    expires_at: count('a whole number of epoch milliseconds'),
  },
  'an object',
);
/** `data` of a `ws.token_refreshed` message. */
export type TokenRefreshedData = z.infer<typeof tokenRefreshedDataSchema>;

/** The text frame a client sends to refresh its token in place. */
export function refreshTokenFrame(token: string): string {
  return JSON.stringify({ event: refreshEvents.REFRESH_TOKEN, data: { token } });
}

/** The text frame the service answers a successful refresh with. */
export function tokenRefreshedFrame(expiresAt: number): string {
  return JSON.stringify({ event: refreshEvents.TOKEN_REFRESHED, data: { expires_at: expiresAt } });
}

/** Result of {@link parseRefreshTokenFrame}. */
export type ParseRefreshResult =
  | { readonly ok: true; readonly token: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Reads a client's text frame as a `ws.refresh_token` message. Never throws; `reason` says what is
 * wrong without quoting the token. A frame that is not JSON or names another event is refused too
 * (the caller decides whether it expected a refresh).
 */
export function parseRefreshTokenFrame(text: string): ParseRefreshResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = refreshTokenMessageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: `${issue?.path.join('.') || 'message'}: expected ${issue?.message ?? 'a refresh message'}`,
    };
  }
  return { ok: true, token: parsed.data.data.token };
}
