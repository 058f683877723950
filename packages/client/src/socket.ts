import {
  closeActionFor,
  type closeReasons,
  heartbeat as heartbeatFrames,
  parseEnvelope,
  problemsWith,
  refreshTokenFrame,
  TOKEN_QUERY_PARAM,
  tokenSubprotocols,
  validateNotification,
} from '@huleedu/ws-protocol';
import { createBackoff } from './backoff.js';
import { readControl } from './control.js';
import { clientError, type Sink, tokenUnavailable } from './dispatch.js';
import type { ClientError } from './errors.js';
import {
  createHistoryCursor,
  type HistoryPosition,
  positionOf,
  resumeOptionsSchema,
} from './position.js';
import { type ConnectionState, canTransition, type StateInfo } from './state.js';
import { expiryOf } from './token.js';
import type { NotificationClientOptions, TabsInfo } from './types.js';

/** What the client reads and sets on a socket: the browser `WebSocket` and `ws` both fit. */
interface WebSocketLike {
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
  send(data: string): void;
  close(): void;
}

/** Where the browser's `online` / `offline` events and `navigator.onLine` live (none in Node). */
interface EventScope {
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
  navigator?: { onLine?: boolean };
}

const scope = globalThis as EventScope;
/** True only when the browser says there is no network; without `navigator`, always online. */
const isOffline = () => scope.navigator?.onLine === false;

/** One tab's own connection: the reconnecting socket, its state machine and its history cursor. */
export interface SocketConnection {
  readonly state: ConnectionState;
  readonly position: HistoryPosition | undefined;
  /** The tabs sharing the socket; undefined for a socket of this tab's own. */
  readonly tabs?: TabsInfo;
  connect(): void;
  close(): void;
}

/**
 * Creates a connection to the notification service that hands what it receives to `sink`. It
 * does nothing until `connect()`; then it stays connected through network drops, deploys and
 * token expiry, following the protocol's close-code table.
 */
export function createSocketConnection(
  options: NotificationClientOptions,
  sink: Sink,
): SocketConnection {
  const {
    getToken,
    initialDelayMs = 500,
    maxDelayMs = 30_000,
    stableAfterMs = 5_000,
    goingAwaySpreadMs = 3_000,
    authRetryDelayMs = 30_000,
    authMaxDelayMs = 300_000,
    heartbeatIntervalMs = 20_000,
    connectTimeoutMs = 10_000,
    random = Math.random,
    tokenTransport,
    tokenRefresh = true,
  } = options;
  const Socket = (options.WebSocket ?? globalThis.WebSocket) as unknown as new (
    url: string,
    protocols?: string[],
  ) => WebSocketLike;
  if (!Socket) {
    throw new TypeError('@huleedu/ws-client: no WebSocket; pass options.WebSocket (e.g. ws)');
  }
  const endpoint = new URL(
    options.url,
    (globalThis as { location?: { href: string } }).location?.href,
  );
  endpoint.protocol = endpoint.protocol.replace('http', 'ws');
  if (!/^wss?:$/.test(endpoint.protocol)) {
    throw new TypeError(`@huleedu/ws-client: url must be ws:// or wss://, got ${options.url}`);
  }
  const resumeProblems = problemsWith(resumeOptionsSchema, options, 'options');
  if (resumeProblems) throw new TypeError(`@huleedu/ws-client: ${resumeProblems}`);
  const history = createHistoryCursor(options.resumeFrom, options.recent ?? 0);

  const report = (error: ClientError) => sink.emit('error', error);

  const backoff = createBackoff({ initialDelayMs, maxDelayMs, random });
  // Refused tokens wait long, and never less than half the bound: never hammer the service.
  const authBackoff = createBackoff({
    initialDelayMs: authRetryDelayMs,
    maxDelayMs: authMaxDelayMs,
    floor: 0.5,
    random,
  });

  let state: ConnectionState = 'idle';
  let socket: WebSocketLike | undefined;
  // Pings every heartbeatIntervalMs; the line is dead when a tick finds the previous ping still
  // unanswered (a frozen service, no FIN, is noticed within two intervals). Judging by the
  // unanswered ping, not by raw silence, keeps background tabs (whose timers the browser slows to
  // once a minute) from being declared dead just because they pinged late.
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let awaitingPong = false;
  // True between connect() and the end: the `online` / `offline` listeners are set.
  let watching = false;
  let attempt = 0;
  let authRefusals = 0;
  let refreshToken = false;
  // When a refused token's wait ends (epoch ms); the `online` event does not cut it short.
  let authWaitUntil = 0;
  // True from a connect that asked for a replay until the service's ws.synced / ws.resync.
  let replaying = false;
  // Bumped whenever an attempt is abandoned, so a late getToken answer is ignored.
  let generation = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let connectTimer: ReturnType<typeof setTimeout> | undefined;
  let stableTimer: ReturnType<typeof setTimeout> | undefined;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;

  /** Forgets past attempts and refusals: a fresh start, or a connection that stayed up. */
  function startOver(): void {
    attempt = authRefusals = authWaitUntil = 0;
    backoff.reset();
    authBackoff.reset();
  }

  function moveTo(next: ConnectionState, info: StateInfo): void {
    if (!canTransition(state, next)) {
      throw new Error(`@huleedu/ws-client: illegal transition ${state} -> ${next}`);
    }
    state = next;
    sink.emit('state', next, info);
  }

  /** Stops everything tied to the current attempt or socket; the socket's events are ignored. */
  function teardown(): void {
    generation++;
    clearTimeout(retryTimer);
    clearTimeout(connectTimer);
    clearTimeout(stableTimer);
    clearTimeout(refreshTimer);
    clearInterval(heartbeat);
    if (socket) {
      // onerror stays set: `ws` in Node throws on an error event nobody listens to.
      socket.onopen = socket.onmessage = socket.onclose = null;
      socket.close();
      socket = undefined;
    }
  }

  async function attemptConnect(): Promise<void> {
    teardown();
    if (watching && isOffline()) {
      moveTo('reconnecting', { attempt, offline: true });
      return;
    }
    const current = generation;
    attempt++;
    moveTo('connecting', { attempt });
    // A state handler may have called close() (or connect() again): this attempt is over.
    if (current !== generation) return;
    connectTimer = setTimeout(
      () =>
        lost(clientError('connect_timeout', `not connected after ${connectTimeoutMs} ms`), 1006),
      connectTimeoutMs,
    );
    let token: string;
    // The token rides in Sec-WebSocket-Protocol (kept out of URLs and access logs) unless the
    // app asked for the legacy `?token=`; one that cannot travel in the header fails here.
    let protocols: string[] | undefined;
    try {
      token = await getToken({ refresh: refreshToken, attempt });
      if (tokenTransport !== 'query') protocols = tokenSubprotocols(token);
    } catch (thrown) {
      if (current === generation) lost(tokenUnavailable(thrown));
      return;
    }
    if (current !== generation) return;
    if (!protocols) endpoint.searchParams.set(TOKEN_QUERY_PARAM, token);
    replaying = history.writeQuery(endpoint.searchParams);
    const ws = new Socket(endpoint.href, protocols);
    socket = ws;
    ws.onerror = () => {}; // a close event with the code always follows
    ws.onclose = (event) => lost(undefined, event.code, event.reason);
    ws.onopen = () => {
      clearTimeout(connectTimer);
      moveTo('open', { attempt });
      refreshBefore(expiryOf(token));
      stableTimer = setTimeout(startOver, stableAfterMs);
      awaitingPong = false;
      heartbeat = setInterval(() => {
        if (awaitingPong) {
          lost(
            clientError('heartbeat_timeout', `no reply to ping within ${heartbeatIntervalMs} ms`),
            1006,
          );
        } else {
          awaitingPong = true;
          ws.send(heartbeatFrames.PING);
        }
      }, heartbeatIntervalMs);
    };
    ws.onmessage = (event) => {
      awaitingPong = false;
      receive(event.data);
    };
  }

  function receive(frame: unknown): void {
    if (frame === heartbeatFrames.PONG) return;
    if (typeof frame !== 'string') {
      report(clientError('invalid_message', 'binary frame; notifications are JSON text', frame));
      return;
    }
    const parsed = parseEnvelope(frame);
    if (!parsed.ok) {
      report(clientError('invalid_message', parsed.reason, frame));
      return;
    }
    const { envelope } = parsed;
    const control = readControl(envelope);
    if (control?.kind === 'refreshed') {
      refreshBefore(control.data.expires_at);
    } else if (control) {
      // The replay is over either way; a malformed one leaves the position as it was.
      replaying = false;
      if (control.kind === 'invalid') {
        report(clientError('invalid_message', control.reason, frame));
        return;
      }
      history.moveTo(control.data);
      if (control.kind === 'resync') sink.emit('resync', control.data);
      return;
    }
    const at = positionOf(envelope);
    if (at && history.seen(at)) return; // a duplicate: handed over already
    // A positioned frame counts as received even when its payload is invalid: it is reported
    // once, not again after every resume.
    if (at) history.moveTo(at);
    const checked = validateNotification(envelope);
    if (!checked.ok) {
      report(clientError('invalid_message', checked.reason, frame));
      return;
    }
    // Only positioned messages can come from history; a raw PUBLISH is always live.
    sink.deliver(
      checked.known ? checked.notification : checked.envelope,
      at ? { replayed: replaying, ...at } : { replayed: false },
      checked.known,
    );
  }

  /**
   * Schedules the next in-place refresh at a random point between 70% and 90% of the time left
   * until `expiresAt` (epoch ms), so tokens issued together are not refreshed together: a fresh
   * token from `getToken` goes over the open socket as `ws.refresh_token`. The service answers
   * `ws.token_refreshed` (which schedules the next one) or closes with 1008, and the close policy
   * takes over; a `getToken` that fails is reported, and the expiry then ends the socket.
   */
  function refreshBefore(expiresAt: number | undefined): void {
    clearTimeout(refreshTimer);
    if (!tokenRefresh || expiresAt === undefined) return;
    const current = generation;
    const delayMs = (expiresAt - Date.now()) * (0.7 + 0.2 * random());
    refreshTimer = setTimeout(
      async () => {
        try {
          const token = await getToken({ refresh: true, attempt });
          if (current === generation) socket?.send(refreshTokenFrame(token));
        } catch (thrown) {
          if (current === generation) report(tokenUnavailable(thrown));
        }
      },
      Math.min(Math.max(delayMs, 0), 2 ** 31 - 1),
    );
  }

  /**
   * The socket (or attempt) is gone: apply the close-code policy and schedule the next attempt.
   * `code` is the close code; errors without one (getToken failed) back off.
   */
  function lost(error: ClientError | undefined, code?: number, reason?: string): void {
    teardown();
    // The service refused the resume parameters (a client older or newer than it): start over
    // without a position rather than retrying them as a refused token, and say the gap is lost.
    // The reason as a checked literal: reading it off `closeReasons` would ship the whole table.
    const resumeRefused =
      reason === ('resume_invalid' satisfies typeof closeReasons.RESUME_INVALID) &&
      history.current !== undefined;
    if (resumeRefused) {
      const from = history.current;
      history.forget();
      error = clientError(
        'resume_refused',
        `resume from position ${from?.position} (epoch ${from?.epoch}) refused; continuing without one`,
        reason,
      );
      sink.emit('resync', { reason: 'history_lost', position: 0, epoch: null });
    }
    const action = code === undefined || resumeRefused ? 'backoff' : closeActionFor(code);
    const info: StateInfo = { attempt, code, reason };
    if (action === 'stop') {
      stopNetwork();
      moveTo('closed', info);
      return;
    }
    refreshToken = action === 'refresh_token';
    let delayMs: number;
    if (refreshToken && ++authRefusals > 1) {
      error = clientError(
        'auth_failed',
        `the service refused a fresh token (${reason || 'no reason given'})`,
        reason,
      );
      delayMs = authBackoff.next();
      authWaitUntil = Date.now() + delayMs;
    } else if (refreshToken) {
      delayMs = 0; // one prompt retry with a fresh token: expiry while connected is routine
    } else if (action === 'reconnect_soon') {
      delayMs = Math.round(random() * goingAwaySpreadMs);
    } else {
      delayMs = backoff.next();
    }
    info.error = error;
    if (error) report(error);
    scheduleRetry(delayMs, info);
  }

  /** Moves to `reconnecting` and, unless offline (the `online` event resumes), waits `delayMs`. */
  function scheduleRetry(delayMs: number, info: StateInfo): void {
    if (watching && isOffline()) {
      info.offline = true;
    } else {
      info.delayMs = delayMs;
      retryTimer = setTimeout(attemptConnect, delayMs);
    }
    moveTo('reconnecting', info);
  }

  /** The browser's `online` / `offline` event. */
  function networkChanged(online: boolean): void {
    if (state === 'idle' || state === 'closed') return;
    if (online) {
      // Every tab of a school sees the network return at once: spread the reconnects over the
      // going-away window (a fresh draw of the backoff schedule, capped), and never earlier than
      // a refused token's wait.
      if (state === 'reconnecting') {
        teardown();
        const spread = Math.min(backoff.next(), Math.round(random() * goingAwaySpreadMs));
        scheduleRetry(Math.max(spread, authWaitUntil - Date.now()), { attempt });
      }
      return;
    }
    // A socket cannot outlive the network; drop it now so the badge says "offline" at once.
    teardown();
    moveTo('reconnecting', { attempt, offline: true });
  }

  const online = () => networkChanged(true);
  const offline = () => networkChanged(false);

  function stopNetwork(): void {
    watching = false;
    scope.removeEventListener?.('online', online);
    scope.removeEventListener?.('offline', offline);
  }

  return {
    get state() {
      return state;
    },
    get position() {
      return history.current;
    },
    connect() {
      if (state !== 'idle' && state !== 'closed') return;
      startOver();
      watching = true;
      scope.addEventListener?.('online', online);
      scope.addEventListener?.('offline', offline);
      attemptConnect();
    },
    close() {
      if (state === 'closed') return;
      teardown();
      stopNetwork();
      moveTo('closed', { attempt });
    },
  };
}
