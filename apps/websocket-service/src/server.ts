import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Readiness } from './health.js';
import type { Logger } from './logger.js';

/** The one path that upgrades to a WebSocket. */
export const WS_PATH = '/ws';

/** What {@link createHttpServer} routes to. */
export interface HttpRoutes {
  /** `GET /ws` with `Upgrade: websocket`. */
  readonly upgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly readiness: () => Readiness;
  readonly metrics: () => Promise<MetricsExposition>;
  readonly logger: Logger;
  /**
   * How long a connection may take to send its request headers (the WebSocket handshake
   * included), ms; then it is answered 408 and closed (default {@link DEFAULT_REQUEST_TIMEOUT_MS}).
   * A connection that sends nothing at all is closed the same way, so idle connections cannot
   * fill the process's file table.
   */
  readonly requestTimeoutMs?: number;
  /** Told of every connection answered 408 or 400 before a request was read. */
  readonly onClientError?: (kind: ClientErrorKind) => void;
}

/** Why a connection was answered and closed before a request was read. */
export type ClientErrorKind = 'request_timeout' | 'bad_request';

/** Default of {@link HttpRoutes.requestTimeoutMs}: a handshake takes milliseconds, not seconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/** What `/metrics` answers: Prometheus text, or (status 503) why it cannot be produced now. */
export interface MetricsExposition {
  /** 200 unless given. */
  readonly status?: number;
  readonly contentType: string;
  readonly body: string;
}

/**
 * The HTTP face of the service: `/healthz`, `/readyz`, `/metrics`, and the upgrade on
 * `GET /ws`. Every other path is a 404 and never
 * upgrades. Request URLs are never logged: the query string carries the token.
 */
export function createHttpServer(routes: HttpRoutes): Server {
  const timeoutMs = routes.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const timeouts = {
    headersTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    // Node checks the two timeouts above on this interval (30 s by default), which would let an
    // idle connection live up to half a minute longer than asked.
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(timeoutMs / 4))),
  };
  const server = createServer(timeouts, (request, response) => {
    handleRequest(routes, request, response).catch((error: unknown) => {
      routes.logger.error({ err: String(error), path: pathOf(request.url) }, 'request failed');
      if (!response.headersSent) send(response, 500, 'application/json', '{"error":"internal"}');
      else response.destroy();
    });
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const isWebSocket = request.headers.upgrade?.toLowerCase() === 'websocket';
    if (request.method === 'GET' && isWebSocket && pathOf(request.url) === WS_PATH) {
      routes.upgrade(request, socket, head);
      return;
    }
    rejectUpgrade(socket, 404, 'Not Found');
  });
  // A client too slow to send its request gets 408, malformed HTTP gets 400; never a crash, never
  // the raw bytes in a log.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    routes.onClientError?.(timedOut ? 'request_timeout' : 'bad_request');
    answerAndClose(
      socket,
      timedOut
        ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
        : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
    );
  });
  return server;
}

async function handleRequest(
  routes: HttpRoutes,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = pathOf(request.url);
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const known =
      path === '/healthz' || path === '/readyz' || path === '/metrics' || path === WS_PATH;
    if (known) {
      response.setHeader('Allow', 'GET, HEAD');
      send(response, 405, 'application/json', '{"error":"method_not_allowed"}');
    } else {
      send(response, 404, 'application/json', '{"error":"not_found"}');
    }
    return;
  }
  switch (path) {
    case '/healthz':
      send(response, 200, 'application/json', '{"status":"ok"}');
      return;
    case '/readyz': {
      const { ready, reasons, workers } = routes.readiness();
      const body = JSON.stringify({
        ...(ready ? { status: 'ready' } : { status: 'not_ready', reasons }),
        ...(workers === undefined ? {} : { workers }),
      });
      send(response, ready ? 200 : 503, 'application/json', body);
      return;
    }
    case '/metrics': {
      const { status, contentType, body } = await routes.metrics();
      send(response, status ?? 200, contentType, body);
      return;
    }
    case WS_PATH:
      response.setHeader('Upgrade', 'websocket');
      send(response, 426, 'application/json', '{"error":"upgrade_required"}');
      return;
    default:
      send(response, 404, 'application/json', '{"error":"not_found"}');
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

/** The path of a request target, without the query string (which may carry a token). */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Answers an upgrade request with a plain HTTP error and closes the connection: no WebSocket is
 * made. `error` is the JSON body's machine-readable reason (the status text by default).
 */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  text: string,
  options: { error?: string; retryAfterSeconds?: number } = {},
): void {
  const body = JSON.stringify({ error: options.error ?? text.toLowerCase().replaceAll(' ', '_') });
  const retry =
    options.retryAfterSeconds === undefined ? '' : `Retry-After: ${options.retryAfterSeconds}\r\n`;
  answerAndClose(
    socket,
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `${retry}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** How long an answered connection may take to receive its answer before it is dropped, ms. */
export const ANSWER_LINGER_MS = 2_000;

/**
 * Writes a last answer and closes the connection for good. `end()` alone only half-closes it:
 * a peer that never closes its side (never reads, or ignores the FIN) would keep the descriptor
 * forever, so an attacker could fill the file table with connections already answered 408 or 429.
 * The socket is destroyed once the answer is handed to the kernel, or after
 * {@link ANSWER_LINGER_MS} if the peer does not even take it.
 */
export function answerAndClose(socket: Duplex, answer: string): void {
  // After an upgrade request Node no longer listens for the socket's errors: a peer that resets
  // while the answer is written must not become an uncaught exception.
  socket.on('error', destroySocket);
  socket.once('finish', destroySocket);
  (socket as Partial<Socket>).setTimeout?.(ANSWER_LINGER_MS, destroySocket);
  socket.end(answer);
}

/**
 * Destroys the socket it is called on (`this`): one listener shared by every connection, so a
 * connection costs no closure for it.
 */
export function destroySocket(this: Duplex): void {
  this.destroy();
}
