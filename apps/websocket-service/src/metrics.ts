import {
  type AuthFailureReason,
  authFailureReasons,
  closeReasons,
  type ResyncReason,
  resyncReasons,
} from '@huleedu/ws-protocol';
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type Metric,
  type MetricObjectWithValues,
  type MetricValueWithName,
  Registry,
} from 'prom-client';
import { type BudgetRefusalReason, budgetRefusalReasons } from './limits/connection-budget.js';
import { type TcpDropReason, tcpDropReasons } from './limits/tcp-connection-cap.js';
import type { ClientErrorKind } from './server.js';

/** Live values the metrics read at scrape time, so there is one source of truth for each. */
export interface MetricSources {
  readonly connections: () => number;
  readonly users: () => number;
  readonly redisConnected: () => boolean;
  readonly subscribedChannels: () => number;
  readonly draining: () => boolean;
  /** Log lines the rate-limited drop log suppressed (read as 0 when not given). */
  readonly logLinesSuppressed?: () => number;
  /** Health of the Redis subscriber connections (all read as 0 when not given). */
  readonly redisSubscribers?: () => RedisSubscriberStats;
  /** TCP connections of every kind held now (read as 0 when not given). */
  readonly tcpConnections?: () => number;
  /** Where history syncing stands (all read as 0 when not given or undefined: history off). */
  readonly history?: () => HistoryStats | undefined;
}

/** What history syncing reports at scrape time. */
export interface HistoryStats {
  /** Admitted sockets whose `ws.synced`/`ws.resync` is not sent yet. */
  readonly syncingSockets: number;
  /** History reads sent to Redis and not answered yet. */
  readonly readsInFlight: number;
  /** Users waiting for a read slot (`WEBSOCKET_HISTORY_READ_CONCURRENCY`). */
  readonly readsQueued: number;
}

/** How a resume (an admission with `position`) ended: recovered, or a resync for a reason. */
export type ResumeOutcome = 'recovered' | 'resync';

/**
 * Why a user's history was read again for sockets that were already live: their subscriber
 * connection came back or their channel moved (`resubscribe`), or a live message skipped
 * positions (`gap`).
 */
export type CatchUpCause = 'resubscribe' | 'gap';

/** Why a history read failed. */
export type HistoryReadFailure = 'timeout' | 'error';

/** What the backplane reports about its Redis subscriber connections. */
export interface RedisSubscriberStats {
  /** Subscriber connections kept: 1, or one per master (Redis Cluster, sharded pub/sub). */
  readonly total: number;
  /** Of those, connected with every wanted channel subscribed. */
  readonly ready: number;
  /** Times a connection subscribed all its channels again after (re)connecting. */
  readonly resubscribes: number;
  /** (S)SUBSCRIBE commands Redis refused (each retried until accepted). */
  readonly subscribeFailures: number;
}

/** How a WebSocket handshake ended (label values of the handshake-duration histogram). */
export type HandshakeOutcome = 'admitted' | 'refused';

const handshakeOutcomes: readonly HandshakeOutcome[] = ['admitted', 'refused'];

/**
 * Upper bounds (seconds) of the handshake-duration histogram: from the in-memory refusals
 * (well under a millisecond) to an admission that waited for a slow revocation read.
 */
export const HANDSHAKE_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/**
 * Upper bounds (seconds) of the delivery-latency histogram. The publish time is whole
 * milliseconds of Redis's clock, so the first bucket is 1 ms; the last ones catch backlogs.
 */
export const DELIVERY_LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * A histogram without labels for the delivery hot path: an observation is a short loop over the
 * bounds and two additions, no allocation and no prom-client call (whose `observe` costs about a
 * microsecond). prom-client reads it at scrape time through `get()`, which answers in the shape of
 * prom-client's own histograms, so the text exposition and the multi-process aggregation (summed
 * per bucket) treat it as one of them.
 */
class TallyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  /** Observations per bucket, not cumulative; the last one is above every bound (+Inf). */
  readonly #counts: Float64Array;
  #sum = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    bounds: readonly number[],
  ) {
    this.#bounds = [...bounds];
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** Counts one observation (a finite number). */
  observe(value: number): void {
    const bounds = this.#bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
    this.#counts[bucket]!++;
    this.#sum += value;
  }

  /** The series as prom-client's histograms report them: cumulative buckets, sum and count. */
  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const bucketName = `${this.name}_bucket`;
    const values: MetricValueWithName<string>[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i]!;
      values.push({ metricName: bucketName, labels: { le: this.#bounds[i]! }, value: cumulative });
    }
    cumulative += this.#counts[this.#bounds.length]!;
    values.push({ metricName: bucketName, labels: { le: '+Inf' }, value: cumulative });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.#sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: cumulative });
    return {
      name: this.name,
      help: this.help,
      type: 'histogram',
      values,
      aggregator: this.aggregator,
    } as unknown as MetricObjectWithValues<MetricValueWithName<string>>;
  }

  /** Forgets every observation (prom-client's `Registry.resetMetrics`). */
  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
  }
}

/** Why a WebSocket handshake was refused (label values of the rejection counter). */
export type RejectionReason =
  | AuthFailureReason
  | BudgetRefusalReason
  | 'connection_limit'
  | 'server_shutdown'
  | 'not_ready'
  | 'resume_invalid';

/** Why the service closed an admitted socket (label values of the server-close counter). */
export type ServerCloseReason =
  | 'token_expired'
  | 'server_shutdown'
  | 'message_too_big'
  | 'dead_peer'
  | 'slow_consumer'
  | 'rate_limited'
  | 'token_revoked';

const rejectionReasons: readonly RejectionReason[] = [
  ...authFailureReasons,
  ...budgetRefusalReasons,
  closeReasons.CONNECTION_LIMIT,
  closeReasons.SERVER_SHUTDOWN,
  closeReasons.NOT_READY,
  closeReasons.RESUME_INVALID,
];
const serverCloseReasons: readonly ServerCloseReason[] = [
  'token_expired',
  'server_shutdown',
  'message_too_big',
  'dead_peer',
  'slow_consumer',
  'rate_limited',
  'token_revoked',
];

const clientErrorKinds: readonly ClientErrorKind[] = ['request_timeout', 'bad_request'];
const catchUpCauses: readonly CatchUpCause[] = ['resubscribe', 'gap'];
const readFailures: readonly HistoryReadFailure[] = ['timeout', 'error'];

/** Prefix of every service metric name. */
export const METRIC_PREFIX = 'huleedu_ws_';

/**
 * The service's Prometheus metrics, in a registry of its own (no global state, so several
 * services can run in one test process). Labels are bounded enums, never a user id.
 *
 * Hot-path tallies (messages, frames) are plain numbers the fan-out increments; they are copied
 * into the counters when Prometheus scrapes, so delivering a message allocates nothing here.
 */
export class ServiceMetrics {
  /** The registry to expose on `/metrics`. */
  readonly registry = new Registry();
  /** Messages received from Redis on a subscribed user channel. */
  redisMessages = 0;
  /** Text frames written to sockets (one per socket per delivered message). */
  framesDelivered = 0;
  /** Redis payloads dropped because they were not a `{event, data}` envelope. */
  malformedPayloads = 0;
  /** Redis messages for a user with no local socket left (a race with UNSUBSCRIBE). */
  unroutedMessages = 0;
  /** Inbound `ping` text frames answered with `pong`. */
  heartbeatFrames = 0;
  /** Other inbound frames (ignored). */
  ignoredFrames = 0;
  /** Redis messages in the service's own `ws.*` namespace that it does not consume: never forwarded. */
  reservedEventsDropped = 0;
  /** Redis messages without a position (legacy raw PUBLISH): delivered live, never replayable. */
  unpositionedMessages = 0;
  /** Positioned live messages not sent to a socket that already had them. */
  duplicatesDropped = 0;
  /** History entries sent to sockets (resume, `recent`, catch-up). */
  replayedMessages = 0;
  /** History reads sent to Redis (one per user, however many sockets it serves). */
  historyReads = 0;
  /** Sockets synced without a read: they joined the user's live sockets at their position. */
  historyJoinedLive = 0;

  readonly #accepted: Counter;
  readonly #rejected: Counter<'reason'>;
  readonly #refreshes: Counter<'outcome'>;
  readonly #serverCloses: Counter<'reason'>;
  readonly #clientErrors: Counter<'reason'>;
  readonly #tcpDrops: Counter<'reason'>;
  readonly #resumes: Counter<'outcome' | 'reason'>;
  readonly #resyncs: Counter<'reason'>;
  readonly #catchUps: Counter<'cause'>;
  readonly #readFailures: Counter<'reason'>;
  readonly #handshakes: Histogram<'outcome'>;
  readonly #deliveryLatency: TallyHistogram;

  /**
   * @param options.defaultMetrics register prom-client's process metrics (default true).
   * @param options.workerSlot multi-process mode: this worker's slot (0..N-1), exported as the
   *   `worker` label of `huleedu_ws_worker_connections` so the summed view keeps a per-worker
   *   connection count. A restarted worker takes over its slot, so the label stays bounded by N.
   */
  constructor(
    sources: MetricSources,
    options: { defaultMetrics?: boolean; workerSlot?: number } = {},
  ) {
    const registers = [this.registry];
    const tally = (name: string, help: string, read: () => number): void => {
      new Counter({
        name: METRIC_PREFIX + name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name: METRIC_PREFIX + name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };

    gauge('connections', 'Open authenticated WebSocket connections', sources.connections);
    gauge('users', 'Users with at least one open connection', sources.users);
    gauge('redis_connected', '1 when the Redis subscriber is connected and subscribed', () =>
      sources.redisConnected() ? 1 : 0,
    );
    gauge(
      'subscribed_channels',
      'User channels this instance subscribes to',
      sources.subscribedChannels,
    );
    gauge('draining', '1 while the instance shuts down', () => (sources.draining() ? 1 : 0));
    if (options.workerSlot !== undefined) {
      const worker = String(options.workerSlot);
      new Gauge({
        name: `${METRIC_PREFIX}worker_connections`,
        help: 'Open authenticated WebSocket connections per worker process (multi-process mode)',
        labelNames: ['worker'],
        registers,
        collect() {
          this.set({ worker }, sources.connections());
        },
      });
    }

    this.#accepted = new Counter({
      name: `${METRIC_PREFIX}connections_accepted_total`,
      help: 'WebSocket connections admitted after authentication',
      registers,
    });
    this.#rejected = new Counter({
      name: `${METRIC_PREFIX}connections_rejected_total`,
      help: 'WebSocket handshakes refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#refreshes = new Counter({
      name: `${METRIC_PREFIX}token_refreshes_total`,
      help: 'In-band token refreshes (ws.refresh_token): refreshed, or the reason the socket was closed',
      labelNames: ['outcome'],
      registers,
    });
    this.#serverCloses = new Counter({
      name: `${METRIC_PREFIX}server_closes_total`,
      help: 'Admitted connections the service closed, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#clientErrors = new Counter({
      name: `${METRIC_PREFIX}http_client_errors_total`,
      help: 'Connections answered and closed before a request was read: 408 too slow (or silent), 400 malformed',
      labelNames: ['reason'],
      registers,
    });
    this.#tcpDrops = new Counter({
      name: `${METRIC_PREFIX}tcp_connections_dropped_total`,
      help: 'TCP connections closed at the TCP connection cap: idle_evicted (the oldest idle one made room), capacity (no room)',
      labelNames: ['reason'],
      registers,
    });
    gauge(
      'tcp_connections',
      'TCP connections held, of every kind: idle, HTTP, WebSocket',
      () => sources.tcpConnections?.() ?? 0,
    );
    this.#resumes = new Counter({
      name: `${METRIC_PREFIX}resumes_total`,
      help: 'Admissions that resumed from a position: recovered (reason none), or resync with its reason',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.#resyncs = new Counter({
      name: `${METRIC_PREFIX}resyncs_total`,
      help: 'ws.resync messages sent (resumes, first connects and live sockets), by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#catchUps = new Counter({
      name: `${METRIC_PREFIX}history_catchups_total`,
      help: 'History reads for users with live sockets: after a subscriber reconnect or channel move (resubscribe), or a gap in live positions',
      labelNames: ['cause'],
      registers,
    });
    this.#readFailures = new Counter({
      name: `${METRIC_PREFIX}history_read_failures_total`,
      help: 'History reads that failed (each answered with ws.resync history_unavailable), by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#handshakes = new Histogram({
      name: `${METRIC_PREFIX}handshake_duration_seconds`,
      help: 'WebSocket handshakes from the upgrade request to admitted or refused, by outcome',
      labelNames: ['outcome'],
      buckets: [...HANDSHAKE_DURATION_BUCKETS],
      registers,
    });
    this.#deliveryLatency = new TallyHistogram(
      `${METRIC_PREFIX}delivery_latency_seconds`,
      'Live notifications from Redis accepting the publish (published_ms, Redis clock) to the write to their sockets; messages without published_ms are not counted',
      DELIVERY_LATENCY_BUCKETS,
    );
    // Read by prom-client at scrape time like its own histograms (see TallyHistogram).
    this.registry.registerMetric(this.#deliveryLatency as unknown as Metric);
    // Every label value starts at 0, so dashboards and alerts see the series before it moves.
    for (const outcome of handshakeOutcomes) this.#handshakes.zero({ outcome });
    for (const reason of rejectionReasons) this.#rejected.inc({ reason }, 0);
    this.#refreshes.inc({ outcome: 'refreshed' }, 0);
    for (const reason of serverCloseReasons) this.#serverCloses.inc({ reason }, 0);
    for (const reason of clientErrorKinds) this.#clientErrors.inc({ reason }, 0);
    for (const reason of tcpDropReasons) this.#tcpDrops.inc({ reason }, 0);
    this.#resumes.inc({ outcome: 'recovered', reason: 'none' }, 0);
    for (const reason of resyncReasons) {
      this.#resumes.inc({ outcome: 'resync', reason }, 0);
      this.#resyncs.inc({ reason }, 0);
    }
    for (const cause of catchUpCauses) this.#catchUps.inc({ cause }, 0);
    for (const reason of readFailures) this.#readFailures.inc({ reason }, 0);

    tally('redis_messages_total', 'Messages received from Redis', () => this.redisMessages);
    tally(
      'frames_delivered_total',
      'Notification frames written to sockets',
      () => this.framesDelivered,
    );
    tally(
      'malformed_payloads_total',
      'Redis payloads dropped because they were not an {event, data} envelope',
      () => this.malformedPayloads,
    );
    tally(
      'unrouted_messages_total',
      'Redis messages that arrived after the last socket of their user left',
      () => this.unroutedMessages,
    );
    tally(
      'heartbeat_frames_total',
      'Inbound ping text frames answered with pong',
      () => this.heartbeatFrames,
    );
    tally('ignored_frames_total', 'Other inbound frames (ignored)', () => this.ignoredFrames);
    tally(
      'reserved_events_dropped_total',
      'Redis messages naming a ws.* event the service does not consume: never forwarded to a browser',
      () => this.reservedEventsDropped,
    );
    tally(
      'log_lines_suppressed_total',
      'Log lines about drops left out by the rate-limited log (each interval ends with a count)',
      () => sources.logLinesSuppressed?.() ?? 0,
    );

    const subscribers = (): RedisSubscriberStats | undefined => sources.redisSubscribers?.();
    gauge(
      'redis_subscribers',
      'Redis subscriber connections kept (1, or one per master with sharded pub/sub on a cluster)',
      () => subscribers()?.total ?? 0,
    );
    gauge(
      'redis_subscribers_ready',
      'Redis subscriber connections connected with every wanted channel subscribed',
      () => subscribers()?.ready ?? 0,
    );
    tally(
      'redis_resubscribes_total',
      'Times a Redis subscriber connection subscribed all its channels again after (re)connecting',
      () => subscribers()?.resubscribes ?? 0,
    );
    tally(
      'redis_subscribe_failures_total',
      'SUBSCRIBE/SSUBSCRIBE commands Redis refused (each is retried until accepted)',
      () => subscribers()?.subscribeFailures ?? 0,
    );

    tally(
      'unpositioned_messages_total',
      'Redis messages without a position (legacy raw PUBLISH): delivered live, cannot be replayed',
      () => this.unpositionedMessages,
    );
    tally(
      'duplicates_dropped_total',
      'Positioned live messages not sent to a socket that already had them',
      () => this.duplicatesDropped,
    );
    tally(
      'replayed_messages_total',
      'History entries sent to sockets (resume, recent, catch-up)',
      () => this.replayedMessages,
    );
    tally(
      'history_reads_total',
      'History reads sent to Redis (one per user, for all its sockets)',
      () => this.historyReads,
    );
    tally(
      'history_joined_live_total',
      "Sockets synced without a history read, at the position of the user's live sockets",
      () => this.historyJoinedLive,
    );
    const history = (): HistoryStats | undefined => sources.history?.();
    gauge(
      'history_syncing_sockets',
      'Admitted sockets still waiting for their ws.synced or ws.resync',
      () => history()?.syncingSockets ?? 0,
    );
    gauge(
      'history_reads_in_flight',
      'History reads sent to Redis and not answered yet',
      () => history()?.readsInFlight ?? 0,
    );
    gauge(
      'history_reads_queued',
      'Users waiting for a history read slot',
      () => history()?.readsQueued ?? 0,
    );

    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts an admitted connection. */
  connectionAccepted(): void {
    this.#accepted.inc();
  }

  /** Counts a refused handshake. */
  connectionRejected(reason: RejectionReason): void {
    this.#rejected.inc({ reason });
  }

  /** Counts one finished token refresh: `refreshed`, or the reason it was refused. */
  refreshFinished(outcome: 'refreshed' | RejectionReason): void {
    this.#refreshes.inc({ outcome });
  }

  /**
   * Observes one handshake: `startedAt` is `performance.now()` when its upgrade request arrived.
   */
  handshakeFinished(outcome: HandshakeOutcome, startedAt: number): void {
    this.#handshakes.observe({ outcome }, (performance.now() - startedAt) / 1000);
  }

  /**
   * Observes one live message written to its sockets: `publishedMs` is the envelope's
   * `published_ms` (milliseconds since the epoch by Redis's clock, stamped by the durable publish
   * script). Anything else (a legacy raw PUBLISH has none) is skipped. A clock behind Redis's
   * reads as 0.
   */
  deliveredLive(publishedMs: unknown): void {
    if (typeof publishedMs !== 'number' || !Number.isFinite(publishedMs)) return;
    this.#deliveryLatency.observe(Math.max(0, (Date.now() - publishedMs) / 1000));
  }

  /** Counts a connection the service closed. */
  serverClosed(reason: ServerCloseReason): void {
    this.#serverCloses.inc({ reason });
  }

  /** Counts a resume (an admission with a position) by how it ended. */
  resumed(outcome: ResumeOutcome, reason: ResyncReason | 'none'): void {
    this.#resumes.inc({ outcome, reason });
  }

  /** Counts a `ws.resync` sent. */
  resyncSent(reason: ResyncReason): void {
    this.#resyncs.inc({ reason });
  }

  /** Counts a history read for a user with live sockets. */
  caughtUp(cause: CatchUpCause): void {
    this.#catchUps.inc({ cause });
  }

  /** Counts a failed history read. */
  historyReadFailed(reason: HistoryReadFailure): void {
    this.#readFailures.inc({ reason });
  }

  /** Counts a connection answered 408 or 400 before a request was read. */
  clientError(reason: ClientErrorKind): void {
    this.#clientErrors.inc({ reason });
  }

  /** Counts a TCP connection the TCP connection cap closed. */
  tcpConnectionDropped(reason: TcpDropReason): void {
    this.#tcpDrops.inc({ reason });
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
