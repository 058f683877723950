import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type CloseReason,
  closeCodes,
  closeReasons,
  heartbeat,
  isRevoked,
  parseRefreshTokenFrame,
  refreshEvents,
  tokenRefreshedFrame,
  WS_SUBPROTOCOL,
} from '@huleedu/ws-protocol';
import { WebSocketServer } from 'ws';
import type { AcceptedToken, Admission, HandshakeAuth } from './auth.js';
import { ClientSocket, type SocketEvents } from './client-socket.js';
import { OPEN, TEXT_FRAME } from './frames.js';
import { release } from './history/response-hold.js';
import type { ParsedResumeRequest } from './history/resume-request.js';
import type { HistoryAdmission } from './history/sync.js';
import {
  addressGroup,
  clientAddress,
  DEFAULT_IPV6_PREFIX_LENGTH,
  type TrustedProxies,
} from './limits/client-address.js';
import type { BudgetRefusal, ConnectionBudget } from './limits/connection-budget.js';
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
  readonly trustedProxies?: TrustedProxies;
  /** IPv6 clients share the per-address limits by this prefix (default 64). */
  readonly ipv6PrefixLength?: number;
  /** Added to the token's `exp` before the socket is closed as expired (as in verification). */
  readonly clockToleranceMs: number;
  /** Called with every admitted socket (for the expiry and revocation sweeps). */
  readonly onAdmitted?: (socket: ClientSocket) => void;
  /** Called when a socket's token was refreshed in place (its new expiry is on the socket). */
  readonly onRefreshed?: (socket: ClientSocket) => void;
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
type Refusal = { readonly ok: false; readonly code?: number; readonly reason: RejectionReason };

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

const NO_PROXIES: TrustedProxies = { has: () => false };

/** How long a peer has to answer our close frame before the TCP connection is dropped. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 5000;

/**
 * How long a socket closed by the service for a refusal (a refused handshake or refresh, a
 * flood) is kept for the peer's answer to the close frame: long enough for the close frame to
 * arrive, short enough that refusals cannot occupy the places admitted users need.
 */
export const REFUSED_CLOSE_TIMEOUT_MS = 1000;

/** Drops a refused socket that has not finished its close handshake (`setTimeout` argument). */
function letGo(socket: ClientSocket): void {
  socket.terminate();
}

/**
 * Closes `socket` with `code` and `reason`, and drops it {@link REFUSED_CLOSE_TIMEOUT_MS} later
 * if the peer has not answered by then (ws's own timer would keep it 5 s). One shared function as
 * the timer's callback: no closure per socket.
 */
export function closeRefused(socket: ClientSocket, code: number, reason: string): void {
  socket.close(code, reason);
  setTimeout(letGo, REFUSED_CLOSE_TIMEOUT_MS, socket).unref();
}

const PING_FRAME = Buffer.from(heartbeat.PING);
const REFRESH_EVENT = Buffer.from(`"${refreshEvents.REFRESH_TOKEN}"`);
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
      // A client that sends its token in Sec-WebSocket-Protocol offers `huleedu.v1` beside it:
      // select that one, never the bearer entry, so the token is not echoed in the response.
      handleProtocols: (offered: Set<string>) =>
        offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false,
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
      // Stop reading: the rest of a flood costs nothing. The TCP connection ends when the peer
      // does not answer the close frame in time.
      socket.pause();
      closeRefused(socket, closeCodes.TRY_AGAIN_LATER, closeReasons.RATE_LIMITED);
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
    const refresh = (socket: ClientSocket, data: Buffer): boolean => this.#refresh(socket, data);
    this.#events = {
      message(socket, data, isBinary) {
        if (!admitFrame(socket)) return;
        if (isBinary) {
          metrics.ignoredFrames++;
        } else if (PING_FRAME.equals(data as Buffer)) {
          metrics.heartbeatFrames++;
          if (mayReply(socket)) socket.send(PONG_FRAME, TEXT_FRAME);
        } else if (!refresh(socket, data as Buffer)) {
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
   * Handles `GET /ws` with `Upgrade: websocket` (the token in `?token=` or in
   * `Sec-WebSocket-Protocol`). The handshake is judged before the upgrade, and a refused one is
   * still upgraded so the browser can read the close code and reason (an HTTP error status is
   * invisible to browser JavaScript); its socket is dropped about a second after the close frame.
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
      const group = addressGroup(
        address,
        this.#options.ipv6PrefixLength ?? DEFAULT_IPV6_PREFIX_LENGTH,
      );
      const refusal = budget.admit(group);
      if (refusal !== undefined) {
        this.#refuseBeforeUpgrade(socket, address, refusal);
        this.#options.metrics.handshakeFinished('refused', startedAt);
        return;
      }
      // Released when the TCP connection closes before the upgrade completes, and from then on
      // when the WebSocket closes.
      budget.hold(socket, group);
    }
    const upgrade = (verdict: Admission | Refusal | undefined): void => {
      // ws listens for errors from here on.
      socket.off('error', destroySocket);
      budget?.unwatch(socket);
      let upgraded = false;
      const { history } = this.#options;
      const resume = verdict?.ok === true ? history?.parse(request.url ?? '') : undefined;
      // The socket will be synced: its 101 response leaves with the sync.
      if (resume?.ok === true) history?.holdResponse(socket as Socket);
      this.#wss.handleUpgrade(request, socket, head, (ws) => {
        upgraded = true;
        const client = ws as ClientSocket;
        client.transport = socket as Socket;
        client.events = this.#events;
        this.#start(client, verdict, resume, { startedAt, address });
      });
      // ws did not upgrade (the connection went away, or the request was not a valid WebSocket
      // handshake): the TCP connection's close gives the place back.
      if (!upgraded) {
        release(socket as Socket);
        budget?.watch(socket);
      }
    };
    if (this.#draining) {
      upgrade(undefined);
      return;
    }
    const admission = this.#options.auth.admit(
      request.url ?? '',
      request.headers.origin,
      request.headers['sec-websocket-protocol'],
    );
    if (!(admission instanceof Promise) && (!admission.ok || !this.#options.revokedBefore)) {
      upgrade(admission);
      return;
    }
    // The verifier (a JWKS URL) or the revocation read answers later, bounded in time. Node's
    // HTTP server stopped listening for the socket's errors when it handed it over: a reset
    // meanwhile must not become an uncaught exception. A connection that went away is not
    // upgraded (ws checks).
    socket.on('error', destroySocket);
    void Promise.resolve(admission)
      .then((verdict) => (verdict.ok ? this.#checkRevocation(verdict) : verdict))
      .then(upgrade);
  }

  /** `accepted`, or a refusal when its token was revoked (1008) or that cannot be read (1013). */
  async #checkRevocation(accepted: AcceptedToken): Promise<AcceptedToken | Refusal> {
    const { revokedBefore } = this.#options;
    if (revokedBefore === undefined) return accepted;
    try {
      const before = await revokedBefore(accepted.userId);
      return before !== undefined && isRevoked(accepted.issuedAt, before) ? REVOKED : accepted;
    } catch (error) {
      this.#options.dropLog.warn(
        'revocation_unavailable',
        { err: error instanceof Error ? error.message : String(error) },
        'cannot read whether a token was revoked (1013)',
      );
      return NOT_READY;
    }
  }

  /**
   * Handles a text frame that may be a `ws.refresh_token` message: false when it is not one
   * (the caller counts it as ignored). The fresh token is judged like a handshake's (same rules,
   * same user, not revoked); then the socket's expiry moves and the client gets
   * `ws.token_refreshed`. A refused refresh closes the socket with the refusal's code and reason.
   * One refresh at a time per socket: another one meanwhile is ignored.
   */
  #refresh(socket: ClientSocket, data: Buffer): boolean {
    // Cheap test first: a refresh is a JSON object naming its event.
    if (data[0] !== 0x7b || !data.includes(REFRESH_EVENT)) return false;
    const parsed = parseRefreshTokenFrame(data.toString('utf8'));
    if (!parsed.ok) {
      this.#options.logger.debug(
        { userId: socket.userId, problem: parsed.reason },
        'ignored frame',
      );
      return false;
    }
    if (socket.refreshing) return true;
    socket.refreshing = true;
    const finish = (verdict: Admission | Refusal): void => {
      socket.refreshing = false;
      this.#finishRefresh(socket, verdict);
    };
    const judged = this.#options.auth.refresh(parsed.token, socket.userId);
    void Promise.resolve(judged)
      .then((verdict) => (verdict.ok ? this.#checkRevocation(verdict) : verdict))
      .then(finish);
    return true;
  }

  #finishRefresh(socket: ClientSocket, verdict: Admission | Refusal): void {
    if (socket.readyState !== OPEN) return;
    const { metrics, dropLog } = this.#options;
    if (!verdict.ok) {
      metrics.refreshFinished(verdict.reason);
      dropLog.info(
        `refresh_${verdict.reason}`,
        { userId: socket.userId, reason: verdict.reason },
        'refused a token refresh; closing the socket',
      );
      closeRefused(socket, verdict.code ?? closeCodes.AUTH_FAILED, verdict.reason);
      return;
    }
    socket.expiresAt = verdict.expiresAt + this.#options.clockToleranceMs;
    socket.issuedAt = verdict.issuedAt;
    metrics.refreshFinished('refreshed');
    this.#options.onRefreshed?.(socket);
    if (
      withinOutboundLimit(
        socket,
        this.#options.maxBufferedBytes,
        metrics,
        dropLog,
        'dropped a socket that does not read its replies',
      )
    ) {
      socket.send(tokenRefreshedFrame(verdict.expiresAt));
    }
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
      this.#refuse(socket, admission.code ?? closeCodes.AUTH_FAILED, admission.reason, handshake);
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
    closeRefused(socket, code, reason);
    // A response held for a sync that will not come leaves now, with the close frame.
    release(socket.transport);
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
