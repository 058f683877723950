import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type CloseReason,
  closeCodes,
  closeReasons,
  heartbeat,
  isRevoked,
} from '@huleedu/ws-protocol';
import { WebSocketServer } from 'ws';
import type { Admission, HandshakeAuth } from './auth.js';
import { ClientSocket, type SocketEvents } from './client-socket.js';
import { OPEN, TEXT_FRAME } from './frames.js';
import type { ParsedResumeRequest } from './history/resume-request.js';
import type { HistoryAdmission } from './history/sync.js';
import {
  type BudgetRefusal,
  type ConnectionBudget,
  clientAddress,
} from './limits/connection-budget.js';
import {
  checkInboundBudget,
  DEFAULT_INBOUND_BUDGET,
  fillInboundBucket,
  type InboundBudget,
  takeInboundFrame,
} from './limits/inbound-budget.js';
import { withinOutboundLimit } from './limits/slow-consumer.js';
import type { Logger } from './logger.js';
import type { RejectionReason, ServiceMetrics } from './metrics.js';
import type { RateLimitedLog } from './rate-limited-log.js';
import type { ConnectionRegistry } from './registry.js';
import { destroySocket, rejectUpgrade } from './server.js';

/** The part of the backplane sessions use: one retain per admitted socket, one release per close. */
export interface ChannelRefs {
  retain(userId: string): void;
  release(userId: string): void;
}

/** What {@link Sessions} needs. */
export interface SessionsOptions {
  readonly auth: HandshakeAuth;
  readonly registry: ConnectionRegistry<ClientSocket>;
  readonly channels: ChannelRefs;
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  /** Largest inbound frame accepted; bigger ones close the socket with 1009. */
  readonly maxPayloadBytes: number;
  /**
   * The outbound-buffer limit of notifications (`WEBSOCKET_MAX_BUFFERED_BYTES`), applied to every
   * reply too (text `pong`, protocol pong): a socket with more queued than this is dropped as a
   * slow consumer instead of having another reply queued.
   */
  readonly maxBufferedBytes: number;
  /** Frames one socket may send (default {@link DEFAULT_INBOUND_BUDGET}); over it: 1013. */
  readonly inboundBudget?: InboundBudget;
  /** Where sockets closed for a limit are logged, at a bounded rate. */
  readonly dropLog: RateLimitedLog;
  /** Global, per-address and handshake-rate limits, judged before the upgrade (none if absent). */
  readonly budget?: ConnectionBudget;
  /** Peers (load balancers) whose `X-Forwarded-For` names the client address. */
  readonly trustedProxies?: ReadonlySet<string>;
  /** Added to the token's `exp` before the socket is closed as expired (as in verification). */
  readonly clockToleranceMs: number;
  /** Called with every admitted socket (for the expiry and revocation sweeps). */
  readonly onAdmitted?: (socket: ClientSocket) => void;
  /**
   * Where a handshake whose token verified learns whether the user's older tokens were revoked
   * (`disconnectUser`): epoch seconds, or `undefined`. Rejects when Redis cannot say in time;
   * the handshake is then closed with 1013 `not_ready`. No check when absent.
   */
  readonly revokedBefore?: (userId: string) => Promise<number | undefined>;
  /**
   * The history (absent with `WEBSOCKET_HISTORY=off`): the resume parameters are read from the
   * request (malformed ones: 1008 `resume_invalid`), and every admitted socket is synced.
   */
  readonly history?: HistoryAdmission;
}

/** Why a verified token is still refused: revoked (1008), or revocation unknown (1013). */
type Refusal = { readonly ok: false; readonly code: number; readonly reason: RejectionReason };

const REVOKED: Refusal = {
  ok: false,
  code: closeCodes.AUTH_FAILED,
  reason: closeReasons.TOKEN_REVOKED,
};
const NOT_READY: Refusal = {
  ok: false,
  code: closeCodes.TRY_AGAIN_LATER,
  reason: closeReasons.NOT_READY,
};

const NO_PROXIES: ReadonlySet<string> = new Set();

/** How long a peer has to answer our close frame before the TCP connection is dropped. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 5000;

const PING_FRAME = Buffer.from(heartbeat.PING);
const PONG_FRAME = Buffer.from(heartbeat.PONG);
/** When a handshake's upgrade request arrived (`performance.now()`) and from which client. */
interface Handshake {
  readonly startedAt: number;
  readonly address: string;
}

/**
 * Turns upgrade requests into sessions and owns their lifecycle: refusal (1008 auth or a revoked
 * token, 1013 when the revocation cannot be read, 4000 limit, 1001 while draining) after the
 * upgrade, admission into the registry and the backplane, heartbeat answers, closes for a
 * revocation, and removal on close.
 *
 * Inbound traffic is bounded per socket: every frame takes a token from the socket's bucket, and
 * a socket over its budget is closed with 1013 `rate_limited` and no longer read. Every reply
 * obeys the outbound-buffer limit, so a client that sends pings and never reads the pongs is
 * dropped instead of growing the service's memory.
 *
 * Event handlers are created once here and shared by every socket ({@link SocketEvents}), so an
 * idle socket costs no closures and no listeners of ours.
 */
export class Sessions {
  readonly #options: SessionsOptions;
  readonly #wss: WebSocketServer;
  readonly #budget: InboundBudget;
  #draining = false;
  #whenEmpty: (() => void) | undefined;

  /** What every socket does with ws's events (see {@link SocketEvents}). */
  readonly #events: SocketEvents;

  constructor(options: SessionsOptions) {
    this.#options = options;
    const budget = checkInboundBudget(options.inboundBudget ?? DEFAULT_INBOUND_BUDGET);
    this.#budget = budget;
    const wsOptions = {
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      // Protocol pings are answered below, within the inbound budget and the buffer limit. ws's
      // own answer would bypass both, and its cap on pending pongs drops sockets silently.
      autoPong: false,
      maxPayload: options.maxPayloadBytes,
      closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS,
      WebSocket: ClientSocket,
    };
    this.#wss = new WebSocketServer(wsOptions);

    const { registry, channels, metrics, logger, maxBufferedBytes, dropLog } = options;
    const connectionBudget = options.budget;
    /** Counts one inbound frame; false (and the socket closed) when it is over its budget. */
    const admitFrame = (socket: ClientSocket): boolean => {
      // Frames parsed from the same chunk still arrive after a close: ignore them.
      if (socket.readyState !== OPEN) return false;
      socket.alive = true;
      if (takeInboundFrame(socket, budget, performance.now())) return true;
      metrics.serverClosed('rate_limited');
      dropLog.warn(
        'rate_limited',
        { userId: socket.userId, burst: budget.burst, perSecond: budget.perSecond },
        'closed a socket that sent frames too fast',
      );
      // Stop reading: the rest of a flood costs nothing. ws ends the TCP connection when the
      // peer does not answer the close frame within the close timeout.
      socket.pause();
      socket.close(closeCodes.TRY_AGAIN_LATER, closeReasons.RATE_LIMITED);
      return false;
    };
    /** Whether a reply may be queued; a socket over the outbound limit is dropped instead. */
    const mayReply = (socket: ClientSocket): boolean =>
      withinOutboundLimit(
        socket,
        maxBufferedBytes,
        metrics,
        dropLog,
        'dropped a socket that does not read its replies',
      );
    const onEmpty = (): void => {
      if (registry.size === 0) this.#whenEmpty?.();
    };
    this.#events = {
      message(socket, data, isBinary) {
        if (!admitFrame(socket)) return;
        if (!isBinary && PING_FRAME.equals(data as Buffer)) {
          metrics.heartbeatFrames++;
          if (mayReply(socket)) socket.send(PONG_FRAME, TEXT_FRAME);
        } else {
          metrics.ignoredFrames++;
        }
      },
      ping(socket, data) {
        if (admitFrame(socket) && mayReply(socket)) socket.pong(data);
      },
      pong(socket) {
        admitFrame(socket);
      },
      close(socket) {
        // Every upgraded socket, admitted or refused, gives back its place in the budget here.
        if (socket.transport !== undefined) connectionBudget?.releaseHeld(socket.transport);
        if (registry.remove(socket.userId, socket) !== 'unknown') {
          channels.release(socket.userId);
          onEmpty();
        }
      },
      error(socket, error) {
        // ws has already closed the socket (1009 for oversize frames, 1002 for protocol errors).
        const code = (error as { code?: string }).code;
        const { userId } = socket;
        if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
          metrics.serverClosed('message_too_big');
          dropLog.warn('message_too_big', { userId }, 'closed a socket that sent a frame too big');
        } else {
          logger.debug({ code, userId }, 'socket error');
        }
      },
    };
  }

  /** True once {@link drain} was called: new handshakes are refused with 1001. */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Handles `GET /ws?token=...` with `Upgrade: websocket`. The handshake is judged before the
   * upgrade, and a refused one is still upgraded so the browser can read the close code and
   * reason (an HTTP error status is invisible to browser JavaScript).
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const startedAt = performance.now();
    const address = clientAddress(
      request.socket.remoteAddress,
      request.headers['x-forwarded-for'],
      this.#options.trustedProxies ?? NO_PROXIES,
    );
    const budget = this.#draining ? undefined : this.#options.budget;
    if (budget !== undefined) {
      const refusal = budget.admit(address);
      if (refusal !== undefined) {
        this.#refuseBeforeUpgrade(socket, address, refusal);
        this.#options.metrics.handshakeFinished('refused', startedAt);
        return;
      }
      // Released when the TCP connection closes before the upgrade completes, and from then on
      // when the WebSocket closes.
      budget.hold(socket, address);
    }
    const admission = this.#draining
      ? undefined
      : this.#options.auth.admit(request.url ?? '', request.headers.origin);
    const resume =
      admission?.ok === true ? this.#options.history?.parse(request.url ?? '') : undefined;
    const upgrade = (verdict: Admission | Refusal | undefined): void => {
      // ws listens for errors from here on.
      socket.off('error', destroySocket);
      budget?.unwatch(socket);
      let upgraded = false;
      this.#wss.handleUpgrade(request, socket, head, (ws) => {
        upgraded = true;
        const client = ws as ClientSocket;
        client.transport = socket as Socket;
        client.events = this.#events;
        this.#start(client, verdict, resume, { startedAt, address });
      });
      // ws did not upgrade (the connection went away, or the request was not a valid WebSocket
      // handshake): the TCP connection's close gives the place back.
      if (!upgraded) budget?.watch(socket);
    };
    const { revokedBefore } = this.#options;
    if (admission?.ok !== true || revokedBefore === undefined) {
      upgrade(admission);
      return;
    }
    // The token is good; was it revoked? Asked before the upgrade completes, bounded in time.
    // Node's HTTP server stopped listening for the socket's errors when it handed it over: a
    // reset meanwhile must not become an uncaught exception. A connection that went away is
    // not upgraded (ws checks).
    socket.on('error', destroySocket);
    revokedBefore(admission.userId).then(
      (before) =>
        upgrade(
          before !== undefined && isRevoked(admission.issuedAt, before) ? REVOKED : admission,
        ),
      (error: unknown) => {
        this.#options.dropLog.warn(
          'revocation_unavailable',
          { err: error instanceof Error ? error.message : String(error) },
          'refused a handshake: cannot read whether its token was revoked (1013)',
        );
        upgrade(NOT_READY);
      },
    );
  }

  #start(
    socket: ClientSocket,
    admission: Admission | Refusal | undefined,
    resume: ParsedResumeRequest | undefined,
    handshake: Handshake,
  ): void {
    const { registry, channels, metrics, logger } = this.#options;
    if (admission === undefined || this.#draining) {
      this.#refuse(socket, closeCodes.GOING_AWAY, closeReasons.SERVER_SHUTDOWN, handshake);
      return;
    }
    if (!admission.ok) {
      this.#refuse(
        socket,
        'code' in admission ? admission.code : closeCodes.AUTH_FAILED,
        admission.reason,
        handshake,
      );
      return;
    }
    const { userId } = admission;
    if (resume?.ok === false) {
      logger.debug({ userId, problem: resume.problem }, 'resume parameters refused');
      this.#refuse(socket, closeCodes.AUTH_FAILED, closeReasons.RESUME_INVALID, handshake);
      return;
    }
    if (registry.add(userId, socket) === 'limit') {
      this.#refuse(socket, closeCodes.CONNECTION_LIMIT, closeReasons.CONNECTION_LIMIT, handshake);
      return;
    }
    socket.userId = userId;
    socket.expiresAt = admission.expiresAt + this.#options.clockToleranceMs;
    socket.issuedAt = admission.issuedAt;
    fillInboundBucket(socket, this.#budget, performance.now());
    channels.retain(userId);
    if (resume?.ok === true) this.#options.history?.admit(socket, resume.request);
    metrics.connectionAccepted();
    metrics.handshakeFinished('admitted', handshake.startedAt);
    this.#options.onAdmitted?.(socket);
    logger.debug({ userId }, 'connection admitted');
  }

  /** Over the connection budget: plain HTTP 503/429 with `Retry-After`, no token looked at. */
  #refuseBeforeUpgrade(socket: Duplex, address: string, refusal: BudgetRefusal): void {
    const { metrics, dropLog } = this.#options;
    metrics.connectionRejected(refusal.reason);
    dropLog.warn(
      refusal.reason,
      { address, status: refusal.status, retryAfterSeconds: refusal.retryAfterSeconds },
      'refused a handshake over the connection budget',
    );
    rejectUpgrade(
      socket,
      refusal.status,
      refusal.status === 503 ? 'Service Unavailable' : 'Too Many Requests',
      { error: refusal.reason, retryAfterSeconds: refusal.retryAfterSeconds },
    );
  }

  /** Closes a refused handshake's socket; logged at info per reason, at a bounded rate. */
  #refuse(socket: ClientSocket, code: number, reason: RejectionReason, handshake: Handshake): void {
    const { metrics, dropLog } = this.#options;
    metrics.connectionRejected(reason);
    metrics.handshakeFinished('refused', handshake.startedAt);
    dropLog.info(reason, { code, reason, address: handshake.address }, 'refused a handshake');
    socket.close(code, reason);
  }

  /** Closes an admitted socket whose token expired (1008 `token_expired`). */
  closeExpired(socket: ClientSocket): void {
    this.#options.metrics.serverClosed('token_expired');
    this.#options.logger.debug({ userId: socket.userId }, 'token expired; closing');
    socket.close(closeCodes.AUTH_FAILED, closeReasons.TOKEN_EXPIRED);
  }

  /**
   * Closes an admitted socket because the platform cut its user off (1008 `token_revoked`): the
   * client fetches a fresh token, which the handshake checks against the revocation.
   */
  closeRevoked(socket: ClientSocket): void {
    if (socket.readyState !== OPEN) return;
    this.#options.metrics.serverClosed('token_revoked');
    socket.close(closeCodes.AUTH_FAILED, closeReasons.TOKEN_REVOKED);
  }

  /**
   * Refuses new handshakes from now on, closes every admitted socket with 1001
   * `server_shutdown`, and resolves once all are closed or `graceMs` has passed (stragglers are
   * then terminated). Safe to call twice.
   */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    const { registry, metrics } = this.#options;
    const reason: CloseReason = closeReasons.SERVER_SHUTDOWN;
    for (const socket of registry.allSockets()) {
      if (socket.readyState !== OPEN) continue;
      metrics.serverClosed('server_shutdown');
      socket.close(closeCodes.GOING_AWAY, reason);
    }
    if (registry.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#whenEmpty = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      this.#whenEmpty = undefined;
    }
    for (const socket of registry.allSockets()) socket.terminate();
  }
}
