import type { IncomingMessage } from 'node:http';

/** Why a request is refused before any route runs: HTTP status, code, message. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** Host names the demo always answers to: it is a local tool. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The host names (no port) the demo answers to: loopback names, the interface it is bound to
 * unless that is a wildcard, and any `extra` names.
 */
export function allowedHostNames(boundHost: string, extra: readonly string[] = []): Set<string> {
  const names = new Set([...LOOPBACK_HOSTS, ...extra.map((name) => name.toLowerCase())]);
  const bound = hostNameOf(
    boundHost.includes(':') && !boundHost.startsWith('[') ? `[${boundHost}]` : boundHost,
  );
  if (bound !== undefined && bound !== '0.0.0.0' && bound !== '[::]') names.add(bound);
  return names;
}

/**
 * The host name of a `Host` header value (`localhost:3000` -> `localhost`), or undefined when it
 * is not a plain `host[:port]` (`evil.example@localhost` would otherwise parse as localhost).
 */
function hostNameOf(host: string): string | undefined {
  if (host === '' || /[@/?#\\\s]/.test(host)) return undefined;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Judges a request before its route: every request must name an allowed host (a page elsewhere
 * that points its own domain at 127.0.0.1, DNS rebinding, sends its own name as `Host`); a POST
 * from a browser must come from the demo's own origin (`Origin` equal to `http://<Host>`), and
 * may carry a body only as `Content-Type: application/json` (a form or `text/plain` post from
 * another page gets 415). Requests without `Origin` (curl, tests) are judged by the rest.
 */
export function refusalOf(
  request: IncomingMessage,
  hosts: ReadonlySet<string>,
): Refusal | undefined {
  const host = request.headers.host;
  const name = host === undefined ? undefined : hostNameOf(host);
  if (host === undefined || name === undefined || !hosts.has(name)) {
    return {
      status: 403,
      code: 'host_not_allowed',
      message: `the demo answers only to ${[...hosts].join(', ')}, not Host ${JSON.stringify(host ?? '')}`,
    };
  }
  if (request.method !== 'POST') return undefined;
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${host.toLowerCase()}`) {
    return {
      status: 403,
      code: 'origin_not_allowed',
      message: `POST is accepted from the demo's own page (http://${host}) only, not from ${JSON.stringify(origin)}`,
    };
  }
  const type = request.headers['content-type'];
  const mediaType = type?.split(';')[0]?.trim().toLowerCase();
  const hasBody =
    request.headers['transfer-encoding'] !== undefined ||
    Number(request.headers['content-length'] ?? 0) > 0;
  if ((type !== undefined || hasBody) && mediaType !== 'application/json') {
    return {
      status: 415,
      code: 'unsupported_media_type',
      message: `POST bodies must be sent as Content-Type: application/json, not ${JSON.stringify(type ?? 'none')}`,
    };
  }
  return undefined;
}
