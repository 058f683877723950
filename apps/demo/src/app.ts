import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { signToken } from '@huleedu/auth';
import { createNotificationEnvelope, type Notifier } from '@huleedu/notify';
import type { NotificationType } from '@huleedu/ws-client';
import type { DemoConfig } from './config.js';
import type { DemoHistory } from './history.js';
import { allowedHostNames, refusalOf } from './request-guard.js';
import { isSampleType, samplePayloads, sampleTypes } from './samples.js';
import { createSentLog } from './sent-log.js';

/** What the demo server needs: its settings, a notifier, and the folder of the built page. */
export interface DemoServerOptions {
  config: DemoConfig;
  notifier: Notifier;
  /** The demo user's history in Redis (for "lose the history"). */
  history: DemoHistory;
  /** Folder holding index.html, app.js (the page with the bundled client) and style.css. */
  publicDir: string;
  /**
   * Host names the demo answers to besides the loopback names and the interface it is bound to
   * (`DEMO_HOST`), e.g. a name it is reached by through a port mapping. Any other `Host` is 403.
   */
  allowedHosts?: readonly string[];
}

const staticFiles: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const MAX_BODY_BYTES = 4_096;

/** An API failure: HTTP status plus a code and message the page shows. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** How many published notifications `GET /api/notifications` returns. */
const SENT_LOG_LIMIT = 50;

/**
 * The demo's HTTP server (not yet listening): the page, `POST /api/token` (a token for the demo
 * user), `GET /api/samples` (publishable types), `POST /api/publish` (a sample notification
 * for the demo user, via @huleedu/notify), `GET /api/notifications` (what the demo published:
 * the app's own list, refetched after a resync) and `POST /api/history/forget` (deletes the
 * user's history, as a Redis restart without persistence would). Every request must name an
 * allowed `Host`, and a POST must come from the demo's own origin with JSON (see
 * `request-guard.ts`).
 */
export function createDemoServer(options: DemoServerOptions): Server {
  const { config, notifier, history, publicDir } = options;
  const sent = createSentLog(SENT_LOG_LIMIT);
  const hosts = allowedHostNames(config.host, options.allowedHosts);

  const publishSample = async <T extends NotificationType>(type: T) => {
    const timestamp = new Date().toISOString();
    const result = await notifier.publishUserNotification(
      config.userId,
      type,
      samplePayloads[type],
      { timestamp },
    );
    sent.add(createNotificationEnvelope(type, samplePayloads[type], { timestamp }));
    return result;
  };

  const routes: Record<string, (request: IncomingMessage) => Promise<unknown>> = {
    'POST /api/token': async () => {
      const token = signToken(config.userId, {
        secret: config.jwtSecret,
        expiresInSeconds: config.tokenTtlSeconds,
        ...(config.audience ? { audience: config.audience } : {}),
        ...(config.issuer ? { issuer: config.issuer } : {}),
      });
      return {
        token,
        userId: config.userId,
        url: config.publicWebSocketUrl,
        expiresAt: Date.now() + config.tokenTtlSeconds * 1000,
      };
    },
    'GET /api/samples': async () => ({ types: sampleTypes }),
    'POST /api/publish': async (request) => {
      const body = await readJson(request);
      const type = body.type ?? sampleTypes[Math.floor(Math.random() * sampleTypes.length)];
      if (!isSampleType(type)) {
        throw new ApiError(400, 'unknown_type', `no sample for notification type ${String(type)}`);
      }
      const result = await publishSample(type).catch((error: Error & { code?: string }) => {
        throw new ApiError(502, error.code ?? 'publish_failed', error.message);
      });
      const { id, position, epoch, receivers } = result;
      return { type, userId: config.userId, id, position, epoch, receivers };
    },
    'GET /api/notifications': async () => ({ notifications: sent.list() }),
    'POST /api/history/forget': async () => {
      await history.forget().catch((error: Error) => {
        throw new ApiError(502, 'redis_unavailable', error.message);
      });
      return { forgotten: config.userId };
    },
  };

  return createServer((request, response) => {
    const refusal = refusalOf(request, hosts);
    if (refusal !== undefined) {
      sendJson(response, refusal.status, {
        error: { code: refusal.code, message: refusal.message },
      });
      return;
    }
    const path = new URL(request.url ?? '/', 'http://demo').pathname;
    const route = routes[`${request.method} ${path}`];
    if (route) {
      route(request).then(
        (result) => sendJson(response, 200, result),
        (error: unknown) => {
          const failure =
            error instanceof ApiError ? error : new ApiError(500, 'internal_error', String(error));
          sendJson(response, failure.status, {
            error: { code: failure.code, message: failure.message },
          });
        },
      );
      return;
    }
    const asset = request.method === 'GET' ? staticFiles[path] : undefined;
    if (!asset) {
      sendJson(response, 404, {
        error: { code: 'not_found', message: `${request.method} ${path}` },
      });
      return;
    }
    readFile(join(publicDir, asset.file)).then(
      (content) => {
        response.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' });
        response.end(content);
      },
      () =>
        sendJson(response, 500, {
          error: {
            code: 'page_not_built',
            message: 'run the demo build (pnpm --filter @huleedu/demo build)',
          },
        }),
    );
  });
}

/**
 * The live receiver count and the position of a publish: `@huleedu/notify` resolves to the count,
 * or (with its history) to a result holding both.
 */
function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

/** Reads a small JSON object body; an empty body is `{}`. */
async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of request) {
    text += chunk;
    if (text.length > MAX_BODY_BYTES) {
      throw new ApiError(413, 'body_too_large', `request body over ${MAX_BODY_BYTES} bytes`);
    }
  }
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', 'request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'invalid_json', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
