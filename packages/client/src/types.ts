import type {
  Envelope,
  Notification,
  NotificationData,
  NotificationType,
  ResyncData,
} from '@huleedu/ws-protocol';
import type { ClientError } from './errors.js';
import type { Unsubscribe } from './events.js';
import type { HistoryPosition } from './position.js';
import type { ConnectionState, StateInfo } from './state.js';

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
  /**
   * Share one connection between the tabs of this origin and user (see the README's "Tabs"
   * section). Default true where the browser has Web Locks and BroadcastChannel; false gives each
   * tab its own socket.
   */
  shareAcrossTabs?: boolean;
  /**
   * Who the tabs that share one connection belong to. Default: the `sub` claim of the token
   * `getToken` returns (read, not verified). Tabs share only with tabs of the same key.
   */
  shareKey?: string;
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
  /** The tabs sharing this connection, or undefined while this tab does not share one. */
  readonly tabs: TabsInfo | undefined;
  /** Calls `handler` whenever {@link NotificationClient.tabs} changes (leader, tab count). */
  onTabsChange(handler: (tabs: TabsInfo | undefined) => void): Unsubscribe;
}

/** How this tab takes part in the shared connection. */
export interface TabsInfo {
  /** True in the one tab that holds the socket for all the others. */
  leader: boolean;
  /** How many tabs share the connection, this one included. */
  count: number;
}
