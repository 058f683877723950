import type { HistogramSnapshot } from './histogram.js';
import type { ResumeTally } from './resume-tracking.js';

/** Jittered exponential backoff between connection attempts of one socket. */
export interface RetryPolicy {
  /** Attempts after the first one (0: never retry). */
  attempts: number;
  /** Upper bound of the first random delay, ms; doubles per attempt. */
  baseMs: number;
  /** Upper bound of any delay, ms. */
  maxMs: number;
  /**
   * After a 1001 close (the server going away), the first delay is uniform in [0, this] instead
   * of the backoff, as `@huleedu/ws-client` spreads its `reconnect_soon` (default: backoff).
   */
  goingAwaySpreadMs?: number;
}

/** What one load-generator process opens: its share of users, each with `tabs` sockets. */
export interface WorkerPlan {
  protocol: 'ws' | 'socketio';
  /** `ws://host:port/ws` or `http://host:port` (Socket.IO). */
  url: string;
  secret: string;
  /** Index of this process's first user. */
  firstUser: number;
  /** Users this process opens sockets for. */
  userCount: number;
  tabs: number;
  /** Loopback source addresses, used round-robin by global socket number. */
  sourceAddresses: string[];
  /**
   * A second, disjoint set used by every other (re)open of a socket. A client that closed its
   * side first keeps the port in TIME_WAIT for a minute; binding the reconnects of a storm to the
   * same addresses would make every bind() scan the port range, synchronously, in the event loop.
   */
  spareAddresses: string[];
  /** Global number of this process's first socket (so processes spread over addresses evenly). */
  firstSocket: number;
  /** Handshakes in flight at once. */
  concurrency: number;
  connectTimeoutMs: number;
  /** Retries of a failed initial connect. */
  retry: RetryPolicy;
  /** Token lifetime, seconds. */
  tokenTtlSeconds: number;
}

/** Result of the `connect` command. */
export interface ConnectResult {
  /** Sockets open now (from every connect call so far). */
  opened: number;
  /** Sockets tried so far that are not open. */
  failed: number;
  /** Failure reasons and how often each happened (`http_401`, `ECONNRESET`, `timeout`, ...). */
  failures: Record<string, number>;
  /** Wall-clock ms when the first handshake started and when the last one finished. */
  startedAt: number;
  finishedAt: number;
  /**
   * Users of this process with fewer than `tabs` open sockets (not targeted by publishers), once
   * every socket has been tried; empty before.
   */
  incompleteUsers: number[];
}

/** Result of the `disconnect` command. */
export interface DisconnectResult {
  /** Sockets whose closing handshake completed (the connection is gone). */
  closed: number;
  /** Sockets that had not closed within the timeout and were dropped instead. */
  dropped: number;
}

/** Cheap progress numbers, polled while waiting for deliveries or reconnects. */
export interface CountsResult {
  /** Bench notifications received (every frame, duplicates included). */
  delivered: number;
  /** Positioned messages past their socket's last position (each position once per socket). */
  fresh: number;
  open: number;
  /** Sockets reopened after a close since the last reset (each counted once). */
  back: number;
  /** Wall-clock ms of the last delivery (0: none since reset). */
  lastDeliveryAt: number;
  /** Wall-clock ms of the last socket to (re)open. */
  lastOpenAt: number;
  /**
   * Sockets that got a `ws.synced` or `ws.resync` since the last reset (each counted once): the
   * service with history on sends one on every connect, once the socket's resume is settled.
   */
  synced: number;
  /** Wall-clock ms of the last socket to count in `synced` (0: none since reset). */
  lastSyncedAt: number;
}

/** Full statistics since the last `reset`. */
export interface StatsResult extends CountsResult {
  /** Wall-clock ms of the first delivery (0: none). */
  firstDeliveryAt: number;
  latency: HistogramSnapshot;
  /** Close codes seen on open sockets and how often. */
  closes: Record<string, number>;
  /** Sockets reopened after a close the bench did not ask for. */
  reconnects: number;
  /** Reopen attempts that failed. */
  reconnectFailures: number;
  /** Why they failed (`ECONNREFUSED`, `http_503`, `timeout`, ...) and how often. */
  reconnectFailureReasons: Record<string, number>;
  /** Positions followed, skipped and seen twice (plain WebSocket targets). */
  resume: ResumeTally;
}

/** Requests from the parent, each answered by one {@link WorkerReply} with the same id. */
export type WorkerRequest =
  | { id: number; cmd: 'init'; plan: WorkerPlan }
  /**
   * Opens sockets until `share` (0-1] of this process's sockets have been tried in this pass;
   * `sourceAddresses`, when given, replaces the plan's from this call on.
   */
  | { id: number; cmd: 'connect'; share: number; sourceAddresses?: string[] }
  /**
   * Closes every socket from the client side and starts a new pass: the next `connect` opens
   * every socket again, as new clients (no resume position). Needs reconnecting off.
   */
  | { id: number; cmd: 'disconnect'; timeoutMs: number }
  | { id: number; cmd: 'counts' }
  /** Users with fewer than `tabs` sockets open right now. */
  | { id: number; cmd: 'incomplete' }
  | { id: number; cmd: 'stats' }
  /** Each socket against the last position published to its user (`[user, position, epoch]`). */
  | { id: number; cmd: 'audit'; published: Array<[user: number, position: number, epoch: string]> }
  | { id: number; cmd: 'reset' }
  | { id: number; cmd: 'reconnect'; enabled: boolean; retry: RetryPolicy }
  | { id: number; cmd: 'close' };

/** A request without its id, as the parent writes it. */
export type WorkerCommand = WorkerRequest extends infer R
  ? R extends WorkerRequest
    ? Omit<R, 'id'>
    : never
  : never;

/** A reply: the command's result or an error with a code and a message. */
export type WorkerReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string } };
