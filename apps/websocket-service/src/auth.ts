import type { TokenVerifier } from '@huleedu/auth';
import { type AuthFailureReason, authFailureReasons, closeReasons } from '@huleedu/ws-protocol';
import { normalizeOrigin } from './config.js';
import type { Logger } from './logger.js';

/** Outcome of {@link HandshakeAuth.admit}. */
export type Admission =
  | {
      readonly ok: true;
      readonly userId: string;
      readonly expiresAt: number;
      /** The token's `iat` (epoch seconds), `undefined` when it has none; revocation compares it. */
      readonly issuedAt: number | undefined;
    }
  | { readonly ok: false; readonly reason: AuthFailureReason };

/** What {@link createHandshakeAuth} needs. */
export interface HandshakeAuthOptions {
  /** From `@huleedu/auth`'s `createTokenVerifier`; throws an `AuthError` with a reason code. */
  readonly verifier: TokenVerifier;
  /** Allowed `Origin` values (already normalized); `undefined` allows every origin. */
  readonly allowedOrigins?: readonly string[];
  readonly logger: Logger;
}

/** Decides whether a WebSocket handshake may become a session. */
export interface HandshakeAuth {
  /**
   * Judges a handshake by its request target (`/ws?token=...`) and `Origin` header. Browser
   * requests (with an Origin) must come from an allowed origin; requests without one (backends,
   * tools) are judged by their token alone.
   */
  admit(requestUrl: string, origin: string | undefined): Admission;
}

const knownAuthFailures = new Set<string>(authFailureReasons);

/** The handshake gate: Origin check, then the token through `@huleedu/auth`. */
export function createHandshakeAuth(options: HandshakeAuthOptions): HandshakeAuth {
  const allowed =
    options.allowedOrigins === undefined ? undefined : new Set(options.allowedOrigins);
  return {
    admit(requestUrl, origin) {
      if (allowed !== undefined && origin !== undefined) {
        const normalized = normalizeOrigin(origin);
        if (normalized === undefined || !allowed.has(normalized)) {
          return { ok: false, reason: closeReasons.ORIGIN_NOT_ALLOWED };
        }
      }
      const token = tokenFromRequestUrl(requestUrl);
      try {
        const { userId, expiresAt, claims } = options.verifier.verify(token);
        // The verifier refuses an `iat` that is not a number.
        const issuedAt = typeof claims.iat === 'number' ? claims.iat : undefined;
        return { ok: true, userId, expiresAt, issuedAt };
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (typeof code === 'string' && knownAuthFailures.has(code)) {
          return { ok: false, reason: code as AuthFailureReason };
        }
        // Not an AuthError: a bug, not a bad token. Refuse, and say so without the token.
        const message = error instanceof Error ? error.message : String(error);
        options.logger.error(
          { err: token === null ? message : message.split(token).join('[token]') },
          'token verification failed unexpectedly',
        );
        return { ok: false, reason: closeReasons.TOKEN_MALFORMED };
      }
    },
  };
}

/**
 * The `token` query parameter of a request target such as `/ws?token=abc`, or `null` when there
 * is none (or it is empty). The first `token` wins if the parameter repeats.
 */
export function tokenFromRequestUrl(requestUrl: string): string | null {
  const query = requestUrl.indexOf('?');
  if (query === -1) return null;
  const token = new URLSearchParams(requestUrl.slice(query + 1)).get('token');
  return token === '' ? null : token;
}
