import { type Readiness, type WorkerSetState, withWorkerSetState } from '../health.js';
import type { Logger } from '../logger.js';
import type { ServiceMetrics } from '../metrics.js';
import type { MetricsExposition } from '../server.js';
import { isPrimaryMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';
import { metricsUnavailable } from './worker-metrics.js';

/**
 * How a worker answers `/readyz` and `/metrics` for the whole multi-process service: a probe or
 * a scrape lands on whichever worker the primary hands the connection to, so one worker must
 * speak for all of them. {@link startService} takes one in `deps.cluster`.
 */
export interface WorkerSetView {
  /** This worker's slot (0..N-1); the `worker` label of the per-worker connection gauge. */
  readonly slot: number;
  /** The whole service's readiness, given this worker's own. */
  readiness(local: Readiness): Readiness;
  /** The whole service's metrics (or a 503 saying why they cannot be gathered now). */
  metrics(): Promise<MetricsExposition>;
}

/** The worker's end of the IPC channel to the primary. */
export interface PrimaryChannel {
  send(message: WorkerMessage, done: (error: Error | null) => void): void;
  onMessage(listener: (message: unknown) => void): void;
  offMessage(listener: (message: unknown) => void): void;
}

/** The cluster worker's own IPC channel (`process.send` / `process.on('message')`). */
export function processChannel(): PrimaryChannel {
  const send = process.send?.bind(process);
  if (send === undefined) {
    throw new Error('processChannel: this process has no IPC channel (not a cluster worker)');
  }
  return {
    send: (message, done) => {
      send(message, undefined, undefined, done);
    },
    onMessage: (listener) => process.on('message', listener),
    offMessage: (listener) => process.off('message', listener),
  };
}

/** The part of a running service the link reports on. */
export interface LinkedService {
  readonly port: number;
  readonly metrics: ServiceMetrics;
  isReady(): boolean;
}

/** What {@link WorkerLink} needs. */
export interface WorkerLinkOptions {
  readonly slot: number;
  /** Configured workers, assumed until the primary first reports. */
  readonly workers: number;
  readonly channel: PrimaryChannel;
  readonly logger: Logger;
  /** How often the worker reports its readiness (a heartbeat, too). Default 500 ms. */
  readonly stateIntervalMs?: number;
  /** How long a scrape waits for the primary's answer before answering 503. Default 5 s. */
  readonly metricsTimeoutMs?: number;
}

/** Default of {@link WorkerLinkOptions.stateIntervalMs}. */
export const STATE_INTERVAL_MS = 500;
/** Default of {@link WorkerLinkOptions.metricsTimeoutMs}: the primary's own gathering bound plus a margin. */
export const WORKER_METRICS_TIMEOUT_MS = 5000;

/**
 * A worker's link to the cluster primary: reports this worker's readiness as a heartbeat, keeps
 * the whole set's state the primary sends back, answers the primary's metric collections with
 * this worker's snapshot, and turns a `/metrics` scrape into one request to the primary.
 */
export class WorkerLink implements WorkerSetView {
  readonly slot: number;
  readonly #options: WorkerLinkOptions;
  readonly #pending = new Map<number, (exposition: MetricsExposition) => void>();
  readonly #listener = (message: unknown): void => this.#onMessage(message);
  #cluster: WorkerSetState | undefined;
  #service: LinkedService | undefined;
  #timer: NodeJS.Timeout | undefined;
  #nextId = 1;

  constructor(options: WorkerLinkOptions) {
    this.slot = options.slot;
    this.#options = options;
    options.channel.onMessage(this.#listener);
  }

  readiness(local: Readiness): Readiness {
    return withWorkerSetState(local, this.#cluster, this.#options.workers);
  }

  metrics(): Promise<MetricsExposition> {
    const id = this.#nextId++;
    const timeoutMs = this.#options.metricsTimeoutMs ?? WORKER_METRICS_TIMEOUT_MS;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#options.logger.warn({ timeoutMs }, 'metrics scrape: the primary did not answer');
        resolve(metricsUnavailable(`the primary did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (exposition) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(exposition);
      });
      this.#send({ type: 'huleedu:metrics-request', id }, () => {
        this.#pending.get(id)?.(metricsUnavailable('the primary cannot be reached'));
      });
    });
  }

  /** Starts reporting on `service` (call once it listens): at once, then every interval. */
  attach(service: LinkedService): void {
    this.#service = service;
    this.#report();
    this.#timer = setInterval(
      () => this.#report(),
      this.#options.stateIntervalMs ?? STATE_INTERVAL_MS,
    );
    this.#timer.unref();
  }

  /** Stops reporting and listening; scrapes still waiting answer 503. */
  close(): void {
    clearInterval(this.#timer);
    this.#options.channel.offMessage(this.#listener);
    for (const answer of [...this.#pending.values()]) answer(metricsUnavailable('worker closing'));
  }

  #report(): void {
    const service = this.#service;
    if (service === undefined) return;
    this.#send({ type: 'huleedu:worker-state', port: service.port, ready: service.isReady() });
  }

  #onMessage(message: unknown): void {
    if (!isPrimaryMessage(message)) return;
    const typed: PrimaryMessage = message;
    switch (typed.type) {
      case 'huleedu:cluster-state':
        this.#cluster = typed.state;
        return;
      case 'huleedu:metrics-result':
        this.#pending.get(typed.id)?.(typed.exposition);
        return;
      case 'huleedu:metrics-collect':
        this.#collect(typed.id);
        return;
    }
  }

  #collect(id: number): void {
    const service = this.#service;
    if (service === undefined) {
      this.#send({ type: 'huleedu:metrics-snapshot', id, error: 'worker not listening yet' });
      return;
    }
    service.metrics.registry.getMetricsAsJSON().then(
      (metrics) => this.#send({ type: 'huleedu:metrics-snapshot', id, metrics }),
      (error: unknown) =>
        this.#send({ type: 'huleedu:metrics-snapshot', id, error: String(error) }),
    );
  }

  #send(message: WorkerMessage, onError?: () => void): void {
    this.#options.channel.send(message, (error) => {
      if (error === null) return;
      // The primary is gone or going: the cluster exits this worker on disconnect anyway.
      this.#options.logger.debug({ err: error.message, type: message.type }, 'ipc send failed');
      onError?.();
    });
  }
}
