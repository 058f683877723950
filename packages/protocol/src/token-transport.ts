/**
 * How a client hands its bearer token to `GET /ws` without putting it in the URL: as an entry of
 * the `Sec-WebSocket-Protocol` header (as Kubernetes does for its API server). A browser offers
 *
 * ```
 * new WebSocket(url, ['huleedu.v1', 'huleedu.bearer.<JWT>'])
 * Sec-WebSocket-Protocol: huleedu.v1, huleedu.bearer.eyJhbGciOi...
 * ```
 *
 * and the service selects `huleedu.v1`, never the bearer entry, so the token is not echoed in the
 * response. A compact JWT is made of `A-Z a-z 0-9 - _ .` only, all of them HTTP token characters,
 * so it goes into the header as it is. Access logs record the request line (with its query
 * string) by default and almost never this header; the token costs no extra round trip.
 * `?token=` keeps working for existing clients.
 */

/** The subprotocol the service selects when a client offers it (the only one it speaks). */
export const WS_SUBPROTOCOL = 'huleedu.v1';

/** Prefix of the `Sec-WebSocket-Protocol` entry that carries the token: `huleedu.bearer.<JWT>`. */
export const BEARER_SUBPROTOCOL_PREFIX = 'huleedu.bearer.';

/** Longest token accepted anywhere (URL, header, refresh frame), in characters. */
export const MAX_TOKEN_LENGTH = 8192;

/** The query parameter of the legacy way to send a token: `GET /ws?token=<JWT>`. */
export const TOKEN_QUERY_PARAM = 'token';

// A compact JWS: three base64url segments (the signature may be empty, as alg none has it).
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The subprotocols a client offers to connect with `token` (pass them as the second argument of
 * `new WebSocket(url, protocols)`). Throws a clear error when `token` is not a compact JWT (it
 * could not travel in the header).
 */
export function tokenSubprotocols(token: string): [string, string] {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWT.test(token)) {
    throw new Error(
      `a token in Sec-WebSocket-Protocol: expected a compact JWT of at most ${MAX_TOKEN_LENGTH} characters`,
    );
  }
  return [WS_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`];
}

/** What {@link parseTokenSubprotocols} found in a `Sec-WebSocket-Protocol` header. */
export type TokenSubprotocols =
  | {
      readonly ok: true;
      /** The token of the bearer entry, or `null` when there is none. */
      readonly token: string | null;
      /** The subprotocol to select in the response: `huleedu.v1` when offered, else `undefined`. */
      readonly selected: typeof WS_SUBPROTOCOL | undefined;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * Reads a request's `Sec-WebSocket-Protocol` header (Node joins repeated headers with `, `).
 * Refuses, with a reason to log (never containing the token), a header with two bearer entries,
 * an empty or oversized bearer entry, or a bearer entry without `huleedu.v1` beside it (the
 * service must select an offered subprotocol, and never the bearer entry). Never throws.
 */
export function parseTokenSubprotocols(header: string | undefined): TokenSubprotocols {
  if (header === undefined || header === '') return { ok: true, token: null, selected: undefined };
  let token: string | null = null;
  let selected: typeof WS_SUBPROTOCOL | undefined;
  for (const raw of header.split(',')) {
    const entry = raw.trim();
    if (entry === WS_SUBPROTOCOL) {
      selected = WS_SUBPROTOCOL;
      continue;
    }
    if (!entry.startsWith(BEARER_SUBPROTOCOL_PREFIX)) continue;
    if (token !== null) return { ok: false, reason: 'more than one bearer subprotocol' };
    token = entry.slice(BEARER_SUBPROTOCOL_PREFIX.length);
    if (token === '') return { ok: false, reason: 'an empty bearer subprotocol' };
    if (token.length > MAX_TOKEN_LENGTH) {
      return { ok: false, reason: `a bearer subprotocol over ${MAX_TOKEN_LENGTH} characters` };
    }
  }
  if (token !== null && selected === undefined) {
    return { ok: false, reason: `a bearer subprotocol without ${WS_SUBPROTOCOL}` };
  }
  return { ok: true, token, selected };
}

/** Where a handshake's token came from, as {@link handshakeToken} found it. */
export type HandshakeToken =
  | {
      readonly ok: true;
      /** The token, or `null` when the handshake carries none. */
      readonly token: string | null;
      /** `subprotocol` (the header), `query` (legacy `?token=`), or `null` without a token. */
      readonly via: 'subprotocol' | 'query' | null;
      /** The subprotocol to select in the response (`huleedu.v1`), if the client offered it. */
      readonly selected: typeof WS_SUBPROTOCOL | undefined;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * The token of a `GET /ws` handshake, from its request target (`/ws?token=...`, the first
 * `token` wins, an empty one counts as none) or its `Sec-WebSocket-Protocol` header. Refuses a
 * handshake that carries a token both ways (the two could belong to different users) and every
 * header {@link parseTokenSubprotocols} refuses. Never throws; `reason` never holds the token
 * (the service answers such a handshake with 1008 `token_malformed`).
 */
export function handshakeToken(
  requestTarget: string,
  protocolHeader: string | undefined,
): HandshakeToken {
  const offered = parseTokenSubprotocols(protocolHeader);
  if (!offered.ok) return offered;
  const query = requestTarget.indexOf('?');
  const fromQuery =
    query === -1
      ? null
      : new URLSearchParams(requestTarget.slice(query + 1)).get(TOKEN_QUERY_PARAM) || null;
  if (offered.token !== null && fromQuery !== null) {
    return { ok: false, reason: 'a token both in the URL and in Sec-WebSocket-Protocol' };
  }
  if (offered.token !== null) {
    return { ok: true, token: offered.token, via: 'subprotocol', selected: offered.selected };
  }
  return {
    ok: true,
    token: fromQuery,
    via: fromQuery === null ? null : 'query',
    selected: offered.selected,
  };
}
