import {
  closeActionFor,
  closeReasons,
  describeIssues,
  type Envelope,
  findIssues,
  heartbeat as heartbeatFrames,
  type Notification,
  type NotificationData,
  type NotificationType,
  parseEnvelope,
  type ResyncData,
  validateNotification,
} from '@huleedu/ws-protocol';
import { createBackoff } from './backoff.js';
import { readControl } from './control.js';
import type { ClientError, ClientErrorCode } from './errors.js';
import { createEmitter, type Unsubscribe } from './events.js';
import { type Heartbeat, startHeartbeat } from './heartbeat.js';
import { type NetworkWatch, watchNetwork } from './network.js';
import {
  createHistoryCursor,
  type HistoryPosition,
  positionOf,
  resumeOptionsSchema,
} from './position.js';
import { type ConnectionState, canTransition, type StateInfo } from './state.js';

/** What the client reads and sets on a socket: the browser `WebSocket` and `ws` both fit. */
interface WebSocketLike {
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
  send(data: string): void;
  close(): void;
}

/**
 * A WebSocket class: the browser's global `WebSocket`, or `WebSocket` from the `ws` package in
 * Node. Typed loosely because the browser's and `ws`'s event types differ in detail.
 */
export type WebSocketConstructor = new (url: string) => object;

/** What `getToken` is told about the attempt it serves. */
export interface TokenContext {
  /** True after the service refused the previous token (1008): do not return a cached one. */
  refresh: boolean;
  /** The attempt number, 1 for the first attempt after a connection that stayed up. */
  attempt: number;
}

/** Options of {@link createNotificationClient}; only `url` and `getToken` are required. */
export interface NotificationClientOptions {
  /** The service's `/ws` endpoint, e.g. `wss://notifications.example/ws` (or `/ws` in a page). */
  url: string;
  /** Returns the JWT to connect with; called before every connect and reconnect. */
  getToken: (context: TokenContext) => string | Promise<string>;
  /** The WebSocket class to use. Default: the global `WebSocket` (browsers, Node 22+). */
  WebSocket?: WebSocketConstructor;
  /** Upper bound of the first reconnect delay, in ms. Default 500. */
  initialDelayMs?: number;
  /** Upper bound of any reconnect delay, in ms. Default 30 000. */
  maxDelayMs?: number;
  /** A connection open this long resets the backoff and the refused-token count, in ms. Default 5 000. */
  stableAfterMs?: number;
  /** After 1001 (instance going away), reconnect at a random moment within this window, in ms. Default 3 000. */
  goingAwaySpreadMs?: number;
  /** First wait after a fresh token was refused too, in ms; doubles per refusal. Default 30 000. */
  authRetryDelayMs?: number;
  /** Longest wait between refused tokens, in ms. Default 300 000. */
  authMaxDelayMs?: number;
  /** Time between `ping` frames; a ping unanswered for one interval means dead, in ms. Default 20 000. */
  heartbeatIntervalMs?: number;
  /** Time allowed for getting a token and opening the socket, in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Source of randomness in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /**
   * While the client knows no position (its first connect), ask the service for the user's last
   * `recent` notifications (the service caps it); they arrive replayed and marked. Default 0.
   */
  recent?: number;
  /**
   * A position saved from {@link NotificationClient.position} (e.g. in `sessionStorage` across a
   * page reload) to resume from on the first connect instead of `recent`.
   */
  resumeFrom?: HistoryPosition;
}

/**
 * How a notification reached the client: the third argument of `on` handlers, the second of
 * `onAny`.
 */
export interface Delivery {
  /**
   * True when the service replayed it from the user's history (missed while the client was away,
   * or asked for with `recent`) before saying the connection is live (`ws.synced`).
   */
  replayed: boolean;
  /** Its position in the user's history; absent for a message published without one (raw `PUBLISH`). */
  position?: number;
  /** The history's epoch `position` belongs to. */
  epoch?: string;
}

/** Any valid notification: a known type, checked against its schema, or an unknown type's envelope. */
export type AnyNotification = Notification | Envelope;

/** Handler for one notification type: its typed `data`, the whole message, and how it came. */
export type NotificationHandler<T extends NotificationType> = (
  data: NotificationData<T>,
  message: Notification<T>,
  delivery: Delivery,
) => void;

/** The reconnecting notification client. */
export interface NotificationClient {
  /** The current state; see {@link ConnectionState}. */
  readonly state: ConnectionState;
  /**
   * Where the client is in the user's history (it resumes from here on every reconnect), or
   * undefined before the first positioned message or `ws.synced`. Plain data: save it to pass as
   * `resumeFrom` later.
   */
  readonly position: HistoryPosition | undefined;
  /** Starts connecting (from `idle`, or again after `closed`); otherwise does nothing. */
  connect(): void;
  /** Closes the socket and stops for good: no reconnects until `connect()` is called again. */
  close(): void;
  /** Calls `handler` for each valid notification of `type`; returns the unsubscribe function. */
  on<T extends NotificationType>(type: T, handler: NotificationHandler<T>): Unsubscribe;
  /** Calls `handler` for every valid notification, unknown types included. */
  onAny(handler: (message: AnyNotification, delivery: Delivery) => void): Unsubscribe;
  /**
   * Calls `handler` when the service could not replay what the client missed (`reason`: history
   * trimmed or lost, too many missed, history unavailable): refetch your list from your own API.
   */
  onResync(handler: (resync: ResyncData) => void): Unsubscribe;
  /** Calls `handler` on every state change, with details (attempt, delay, close code, offline). */
  onStateChange(handler: (state: ConnectionState, info: StateInfo) => void): Unsubscribe;
  /** Calls `handler` with every error value; errors are never thrown into app code. */
  onError(handler: (error: ClientError) => void): Unsubscribe;
}

type NotificationEvents = {
  [T in NotificationType]: [
    data: NotificationData<T>,
    message: Notification<T>,
    delivery: Delivery,
  ];
};
type LifecycleEvents = {
  any: [message: AnyNotification, delivery: Delivery];
  resync: [resync: ResyncData];
  state: [state: ConnectionState, info: StateInfo];
  error: [error: ClientError];
};

const clientError = (code: ClientErrorCode, message: string, detail?: unknown): ClientError => ({
  code,
  message,
  detail,
});

/**
 * Creates a client for the notification service. It does nothing until `connect()`; then it stays
 * connected through network drops, deploys and token expiry, following the protocol's close-code
 * table, and hands every valid notification to the handlers.
 */
export function createNotificationClient(options: NotificationClientOptions): NotificationClient {
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
  } = options;
  const Socket = (options.WebSocket ?? globalThis.WebSocket) as unknown as new (
    url: string,
  ) => WebSocketLike;
  if (!Socket) {
    throw new TypeError(
      '@huleedu/ws-client: no WebSocket here; pass options.WebSocket (e.g. the ws package)',
    );
  }
  const endpoint = new URL(
    options.url,
    (globalThis as { location?: { href: string } }).location?.href,
  );
  endpoint.protocol = endpoint.protocol.replace('http', 'ws');
  if (!/^wss?:$/.test(endpoint.protocol)) {
    throw new TypeError(`@huleedu/ws-client: url must be ws:// or wss://, got ${options.url}`);
  }
  const resumeProblems = describeIssues(findIssues(resumeOptionsSchema, options), 'options');
  if (resumeProblems.length > 0) {
    throw new TypeError(`@huleedu/ws-client: ${resumeProblems.join('; ')}`);
  }
  const history = createHistoryCursor(options.resumeFrom, options.recent ?? 0);

  const notifications = createEmitter<NotificationEvents>((thrown, type) =>
    report(clientError('handler_failed', `a ${String(type)} handler threw: ${thrown}`, thrown)),
  );
  const lifecycle = createEmitter<LifecycleEvents>((thrown, name) => {
    // An onError handler that throws cannot report through onError; surface it like a DOM listener.
    if (name === 'error') queueMicrotask(() => reThrow(thrown));
    else report(clientError('handler_failed', `an ${name} handler threw: ${thrown}`, thrown));
  });
  const report = (error: ClientError) => lifecycle.emit('error', error);

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
  let beat: Heartbeat | undefined;
  let network: NetworkWatch | undefined;
  let attempt = 0;
  let authRefusals = 0;
  let refreshToken = false;
  // True from a connect that asked for a replay until the service's ws.synced / ws.resync.
  let replaying = false;
  // Bumped whenever an attempt is abandoned, so a late getToken answer is ignored.
  let generation = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let connectTimer: ReturnType<typeof setTimeout> | undefined;
  let stableTimer: ReturnType<typeof setTimeout> | undefined;

  function moveTo(next: ConnectionState, info: StateInfo): void {
    if (!canTransition(state, next)) {
      throw new Error(`@huleedu/ws-client: illegal transition ${state} -> ${next}`);
    }
    state = next;
    lifecycle.emit('state', next, info);
  }

  /** Stops everything tied to the current attempt or socket; the socket's events are ignored. */
  function teardown(): void {
    generation++;
    clearTimeout(retryTimer);
    clearTimeout(connectTimer);
    clearTimeout(stableTimer);
    beat?.stop();
    beat = undefined;
    if (socket) {
      // onerror stays set: `ws` in Node throws on an error event nobody listens to.
      socket.onopen = socket.onmessage = socket.onclose = null;
      socket.close();
      socket = undefined;
    }
  }

  async function attemptConnect(): Promise<void> {
    teardown();
    if (network && !network.isOnline()) {
      moveTo('reconnecting', { attempt, offline: true });
      return;
    }
    const current = generation;
    attempt++;
    moveTo('connecting', { attempt });
    connectTimer = setTimeout(
      () =>
        lost(clientError('connect_timeout', `not connected after ${connectTimeoutMs} ms`), 1006),
      connectTimeoutMs,
    );
    let token: string;
    try {
      token = await getToken({ refresh: refreshToken, attempt });
    } catch (thrown) {
      if (current === generation) {
        lost(clientError('token_unavailable', `getToken failed: ${thrown}`, thrown));
      }
      return;
    }
    if (current !== generation) return;
    endpoint.searchParams.set('token', token);
    replaying = history.writeQuery(endpoint.searchParams);
    const ws = new Socket(endpoint.href);
    socket = ws;
    ws.onerror = () => {}; // a close event with the code always follows
    ws.onclose = (event) => lost(undefined, event.code, event.reason);
    ws.onopen = () => {
      clearTimeout(connectTimer);
      moveTo('open', { attempt });
      stableTimer = setTimeout(() => {
        attempt = authRefusals = 0;
        backoff.reset();
        authBackoff.reset();
      }, stableAfterMs);
      beat = startHeartbeat({
        intervalMs: heartbeatIntervalMs,
        sendPing: () => ws.send(heartbeatFrames.PING),
        onDead: () =>
          lost(
            clientError('heartbeat_timeout', `no reply to ping within ${heartbeatIntervalMs} ms`),
            1006,
          ),
      });
    };
    ws.onmessage = (event) => {
      beat?.heard();
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
    if (control) {
      // The replay is over either way; a malformed one leaves the position as it was.
      replaying = false;
      if (control.kind === 'invalid') {
        report(clientError('invalid_message', control.reason, frame));
        return;
      }
      history.moveTo(control.data);
      if (control.kind === 'resync') lifecycle.emit('resync', control.data);
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
    const delivery: Delivery = at ? { replayed: replaying, ...at } : { replayed: false };
    if (checked.known) {
      const { notification } = checked;
      (notifications.emit as (type: string, ...args: unknown[]) => void)(
        notification.event,
        notification.data,
        notification,
        delivery,
      );
    }
    lifecycle.emit('any', checked.known ? checked.notification : checked.envelope, delivery);
  }

  /**
   * The socket (or attempt) is gone: apply the close-code policy and schedule the next attempt.
   * `code` is the close code; errors without one (getToken failed) back off.
   */
  function lost(error: ClientError | undefined, code?: number, reason?: string): void {
    teardown();
    // The service refused the resume parameters (a client older or newer than it): start over
    // without a position rather than retrying them as a refused token, and say the gap is lost.
    const resumeRefused = reason === closeReasons.RESUME_INVALID && history.current !== undefined;
    if (resumeRefused) {
      const from = history.current;
      history.forget();
      error = clientError(
        'resume_refused',
        `the service refused to resume from position ${from?.position} (epoch ${from?.epoch}); continuing without a position`,
        reason,
      );
      lifecycle.emit('resync', { reason: 'history_lost', position: 0, epoch: null });
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
    } else if (refreshToken) {
      delayMs = 0; // one prompt retry with a fresh token: expiry while connected is routine
    } else if (action === 'reconnect_soon') {
      delayMs = Math.round(random() * goingAwaySpreadMs);
    } else {
      delayMs = backoff.next();
    }
    info.error = error;
    if (error) report(error);
    if (network && !network.isOnline()) {
      info.offline = true;
    } else {
      info.delayMs = delayMs;
      retryTimer = setTimeout(attemptConnect, delayMs);
    }
    moveTo('reconnecting', info);
  }

  function networkChanged(online: boolean): void {
    if (state === 'idle' || state === 'closed') return;
    if (online) {
      if (state === 'reconnecting') attemptConnect();
      return;
    }
    // A socket cannot outlive the network; drop it now so the badge says "offline" at once.
    teardown();
    moveTo('reconnecting', { attempt, offline: true });
  }

  function stopNetwork(): void {
    network?.stop();
    network = undefined;
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
      attempt = authRefusals = 0;
      backoff.reset();
      authBackoff.reset();
      network = watchNetwork(networkChanged);
      attemptConnect();
    },
    close() {
      if (state === 'closed') return;
      teardown();
      stopNetwork();
      moveTo('closed', { attempt });
    },
    on: (type, handler) => notifications.on(type, handler as never),
    onAny: (handler) => lifecycle.on('any', handler),
    onResync: (handler) => lifecycle.on('resync', handler),
    onStateChange: (handler) => lifecycle.on('state', handler),
    onError: (handler) => lifecycle.on('error', handler),
  };
}

function reThrow(thrown: unknown): never {
  throw thrown;
}
