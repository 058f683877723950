import type { RemoteTokenVerifier, TokenVerifier, VerifiedToken } from '@huleedu/auth';
import { verifyRefresh } from '@huleedu/auth';
import {
  type AuthFailureReason,
  authFailureReasons,
  closeCodes,
  closeReasons,
  handshakeToken,
} from '@huleedu/ws-protocol';
import { normalizeOrigin } from './config.js';
import type { Logger } from './logger.js';

/** A token that passed: its user, expiry (epoch ms) and issue time (epoch s, revocation compares it). */
export interface AcceptedToken {
  readonly ok: true;
  readonly userId: string;
  readonly expiresAt: number;
  /** The token's `iat`, or `exp - JWT_MAX_LIFETIME_SECONDS` where `iat`-less tokens are allowed. */
  readonly issuedAt: number;
}

/**
 * A refused token: `reason` with close 1008, or with `code` 1013 (`not_ready`) when the keys
 * could not be read (a JWKS URL that does not answer: try again later, not a bad token).
 */
export interface RefusedToken {
  readonly ok: false;
  readonly reason: AuthFailureReason | typeof closeReasons.NOT_READY;
  readonly code?: number;
}

/** Outcome of {@link HandshakeAuth.admit} and {@link HandshakeAuth.refresh}. */
export type Admission = AcceptedToken | RefusedToken;

/** What {@link createHandshakeAuth} needs. */
export interface HandshakeAuthOptions {
  /**
   * From `@huleedu/auth`: `createTokenVerifier` (answers at once) or `createRemoteTokenVerifier`
   * (a JWKS URL: answers with a promise). Refuses with an `AuthError` or `KeysUnavailableError`.
   */
  readonly verifier: TokenVerifier | RemoteTokenVerifier;
  /** Allowed `Origin` values (already normalized); `undefined` allows every origin. */
  readonly allowedOrigins?: readonly string[];
  readonly logger: Logger;
}

/** Decides whether a WebSocket handshake may become a session, and whether a refresh may extend it. */
export interface HandshakeAuth {
  /**
   * Judges a handshake by its request target (`/ws?token=...`), `Origin` header and
   * `Sec-WebSocket-Protocol` header (`huleedu.bearer.<JWT>`). Browser requests (with an Origin)
   * must come from an allowed origin; requests without one (backends, tools) are judged by their
   * token alone. A token both in the URL and in the header is refused (`token_malformed`). A
   * promise only with a remote (JWKS URL) verifier.
   */
  admit(
    requestUrl: string,
    origin: string | undefined,
    protocolHeader?: string,
  ): Admission | Promise<Admission>;
  /**
   * Judges a token handed over on an open socket of `userId` (`ws.refresh_token`): the same
   * rules as a handshake, and the same user (`token_subject_mismatch` otherwise).
   */
  refresh(token: string, userId: string): Admission | Promise<Admission>;
}

const knownAuthFailures = new Set<string>(authFailureReasons);

const NOT_READY: RefusedToken = {
  ok: false,
  reason: closeReasons.NOT_READY,
  code: closeCodes.TRY_AGAIN_LATER,
};

/** The handshake gate: Origin check, then the token through `@huleedu/auth`. */
export function createHandshakeAuth(options: HandshakeAuthOptions): HandshakeAuth {
  const allowed =
    options.allowedOrigins === undefined ? undefined : new Set(options.allowedOrigins);
  const { verifier, logger } = options;

  /** The verifier's answer as an {@link Admission}, at once or as a promise. */
  const judge = (
    token: string | null,
    verify: () => VerifiedToken | Promise<VerifiedToken>,
  ): Admission | Promise<Admission> => {
    let verified: VerifiedToken | Promise<VerifiedToken>;
    try {
      verified = verify();
    } catch (error) {
      return refusal(error, token, logger);
    }
    if (verified instanceof Promise) {
      return verified.then(accepted, (error: unknown) => refusal(error, token, logger));
    }
    return accepted(verified);
  };

  return {
    admit(requestUrl, origin, protocolHeader) {
      if (allowed !== undefined && origin !== undefined) {
        const normalized = normalizeOrigin(origin);
        if (normalized === undefined || !allowed.has(normalized)) {
          return { ok: false, reason: closeReasons.ORIGIN_NOT_ALLOWED };
        }
      }
      const found = handshakeToken(requestUrl, protocolHeader);
      if (!found.ok) {
        logger.debug({ problem: found.reason }, 'handshake token refused');
        return { ok: false, reason: closeReasons.TOKEN_MALFORMED };
      }
      const { token } = found;
      return judge(token, () => verifier.verify(token));
    },
    refresh(token, userId) {
      // verifyRefresh answers as the verifier does: at once, or with a promise.
      return judge(token, () => verifyRefresh(verifier as TokenVerifier, token, userId));
    },
  };
}

function accepted({ userId, expiresAt, issuedAt }: VerifiedToken): AcceptedToken {
  return { ok: true, userId, expiresAt, issuedAt };
}

/** A verifier's error as a refusal; a bug (not an AuthError) is logged without the token. */
function refusal(error: unknown, token: string | null, logger: Logger): RefusedToken {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'keys_unavailable') return NOT_READY;
  if (typeof code === 'string' && knownAuthFailures.has(code)) {
    return { ok: false, reason: code as AuthFailureReason };
  }
  const message = error instanceof Error ? error.message : String(error);
  logger.error(
    { err: token === null ? message : message.split(token).join('[token]') },
    'token verification failed unexpectedly',
  );
  return { ok: false, reason: closeReasons.TOKEN_MALFORMED };
}
