import cluster, { type Worker } from 'node:cluster';
import type { WorkerSetState } from '../health.js';
import type { Logger } from '../logger.js';
import type { MetricsExposition } from '../server.js';
import { withServiceV8Flags } from '../v8-flags.js';
import {
  isWorkerMessage,
  type MetricsSnapshot,
  type PrimaryMessage,
  WORKER_SLOT_ENV,
} from './messages.js';
import { metricsUnavailable, WorkerMetrics } from './worker-metrics.js';

/** What {@link startPrimary} needs. */
export interface PrimaryOptions {
  /** Worker processes to keep running (at least 2; one process needs no primary). */
  readonly workers: number;
  /** The interface the workers bind (for the `listening` log line). */
  readonly host: string;
  /** The workers' shutdown grace period; the primary waits this long plus a margin. */
  readonly shutdownGraceMs: number;
  readonly logger: Logger;
}

/** The running primary. */
export interface PrimaryHandle {
  /**
   * Resolves with the port once every worker listens (the `listening` line is logged then).
   * Rejects if a worker exits before the whole set ever listened: the service cannot start.
   */
  readonly listening: Promise<{ port: number }>;
  /**
   * Graceful shutdown: SIGTERM to every worker (each drains: 1001 `server_shutdown`, leaves
   * Redis), no more restarts, then resolves with the exit code once all have exited: 0 when
   * every worker exited cleanly, 1 when one did not or they had to be killed after the grace
   * period plus a margin. Idempotent.
   */
  stop(): Promise<number>;
  /** SIGKILL to every live worker, at once. */
  kill(): void;
}

/** A worker whose last report is older than this counts as not ready (stuck or gone). */
export const WORKER_STALE_MS = 5000;
/** How long a metrics gathering waits for every worker's snapshot before answering 503. */
export const METRICS_GATHER_TIMEOUT_MS = 3000;
/** Restart backoff: first delay, doubled per quick crash up to the maximum. */
const RESTART_DELAY_MS = 200;
const MAX_RESTART_DELAY_MS = 5000;
/** A worker that lived this long resets its slot's backoff. */
const STABLE_AFTER_MS = 10_000;
/** Added to the grace period before the primary stops waiting and kills the workers. */
const SHUTDOWN_MARGIN_MS = 10_000;
/** How often staleness is looked at (reports themselves arrive every 500 ms). */
const CHECK_INTERVAL_MS = 1000;

/** One place in the set of workers; a restarted worker takes over its slot. */
interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  startedAt: number;
  /** This incarnation has reported at least once (it listens). */
  listening: boolean;
  ready: boolean;
  reportedAt: number;
  quickCrashes: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/** One `/metrics` scrape being gathered from every worker. */
interface Gathering {
  readonly requester: Worker;
  readonly requestId: number;
  readonly waiting: Map<Worker, number>;
  readonly snapshots: MetricsSnapshot[];
  readonly timer: NodeJS.Timeout;
}

/**
 * The cluster primary: forks `workers` processes that each run the whole service (its own Redis
 * subscriber) behind one port, with Node's round-robin hand-off of accepted connections. It holds
 * no Redis connection and no client socket; it keeps the set complete (restarting a worker that
 * dies, with backoff), tells every worker whether the whole set is ready, gathers `/metrics`
 * across workers, and shuts the set down. Signals are the caller's business (see `main.ts`).
 */
export function startPrimary(options: PrimaryOptions): PrimaryHandle {
  const { logger } = options;
  // Round-robin in the primary is the default on Linux; said explicitly because the design relies
  // on it (Node 20 has no reusePort), and it must be set before the first fork.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  // Every worker runs with the service's V8 flags, however the primary itself was started.
  cluster.setupPrimary({
    execArgv: withServiceV8Flags(process.execArgv, process.env.NODE_OPTIONS),
  });

  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({
    index,
    worker: undefined,
    startedAt: 0,
    listening: false,
    ready: false,
    reportedAt: 0,
    quickCrashes: 0,
    restartTimer: undefined,
  }));
  const gatherings = new Map<number, Gathering>();
  let nextGathering = 1;
  let port: number | undefined;
  let everListening = false;
  let startFailed = false;
  let shuttingDown = false;
  let stopping: Promise<number> | undefined;
  let restarts = 0;
  let state: WorkerSetState = { readyWorkers: 0, workers: options.workers, draining: false };

  let resolveListening!: (value: { port: number }) => void;
  let rejectListening!: (error: Error) => void;
  const listening = new Promise<{ port: number }>((resolve, reject) => {
    resolveListening = resolve;
    rejectListening = reject;
  });
  listening.catch(() => undefined); // the caller handles it; never an unhandled rejection

  const isReady = (slot: Slot, now: number): boolean =>
    slot.worker !== undefined &&
    slot.listening &&
    slot.ready &&
    now - slot.reportedAt < WORKER_STALE_MS;
  const readyCount = (): number => {
    const now = Date.now();
    return slots.filter((slot) => isReady(slot, now)).length;
  };
  const metrics = new WorkerMetrics({
    configured: () => options.workers,
    ready: readyCount,
    restarts: () => restarts,
  });

  const send = (worker: Worker, message: PrimaryMessage): void => {
    if (!worker.isConnected()) return;
    worker.send(message, undefined, (error: Error | null) => {
      // The worker is exiting; its exit is handled (and logged) on its own.
      if (error !== null)
        logger.debug({ err: error.message, workerPid: worker.process.pid }, 'ipc send failed');
    });
  };
  const liveWorkers = (): Worker[] =>
    slots.flatMap((slot) => (slot.worker === undefined ? [] : [slot.worker]));

  /** Recomputes the whole set's state; tells every worker when it changed. */
  const publishState = (): void => {
    const next: WorkerSetState = {
      readyWorkers: readyCount(),
      workers: options.workers,
      draining: shuttingDown,
    };
    if (next.readyWorkers === state.readyWorkers && next.draining === state.draining) return;
    if ((next.readyWorkers === next.workers) !== (state.readyWorkers === state.workers)) {
      logger.info({ readyWorkers: next.readyWorkers, workers: next.workers }, 'cluster readiness');
    }
    state = next;
    for (const worker of liveWorkers()) send(worker, { type: 'huleedu:cluster-state', state });
  };
  const staleCheck = setInterval(publishState, CHECK_INTERVAL_MS);
  staleCheck.unref();

  const fork = (slot: Slot): void => {
    const env: Record<string, string> = { [WORKER_SLOT_ENV]: String(slot.index) };
    // A replacement binds the port the set already uses (it matters when the port was 0).
    if (port !== undefined) env.WEBSOCKET_SERVICE_PORT = String(port);
    const worker = cluster.fork(env);
    Object.assign(slot, { worker, startedAt: Date.now(), listening: false, ready: false });
    worker.on('message', (message: unknown) => onMessage(worker, slot, message));
    worker.on('exit', (code: number | null, signal: string | null) =>
      onExit(worker, slot, code, signal),
    );
    // Without a listener an IPC error would be thrown in the primary.
    worker.on('error', (error: Error) => {
      logger.warn({ worker: slot.index, err: error.message }, 'worker ipc error');
    });
  };

  const onMessage = (worker: Worker, slot: Slot, message: unknown): void => {
    if (!isWorkerMessage(message) || slot.worker !== worker) return;
    switch (message.type) {
      case 'huleedu:worker-state': {
        slot.ready = message.ready;
        slot.reportedAt = Date.now();
        if (!slot.listening) {
          slot.listening = true;
          port ??= message.port;
          send(worker, { type: 'huleedu:cluster-state', state });
          if (!everListening && slots.every((s) => s.listening)) {
            everListening = true;
            logger.info({ port, host: options.host, workers: options.workers }, 'listening');
            resolveListening({ port });
          }
        }
        publishState();
        return;
      }
      case 'huleedu:metrics-request':
        gather(worker, message.id);
        return;
      case 'huleedu:metrics-snapshot': {
        const gathering = gatherings.get(message.id);
        if (gathering === undefined || !gathering.waiting.delete(worker)) return;
        if (message.metrics === undefined) {
          finish(message.id, `worker ${slot.index}: ${message.error ?? 'no metrics'}`);
          return;
        }
        gathering.snapshots.push(message.metrics);
        if (gathering.waiting.size === 0) finish(message.id);
        return;
      }
    }
  };

  /** Asks every listening worker for its snapshot; answers `requester` when all did, or 503. */
  const gather = (requester: Worker, requestId: number): void => {
    const id = nextGathering++;
    const waiting = new Map<Worker, number>();
    for (const slot of slots) {
      if (slot.worker !== undefined && slot.listening && slot.worker.isConnected()) {
        waiting.set(slot.worker, slot.index);
      }
    }
    const timer = setTimeout(() => {
      const missing = [...(gatherings.get(id)?.waiting.values() ?? [])];
      logger.warn(
        { workers: missing, timeoutMs: METRICS_GATHER_TIMEOUT_MS },
        'metrics scrape incomplete: worker(s) did not answer in time',
      );
      finish(
        id,
        `worker(s) ${missing.join(', ')} did not answer within ${METRICS_GATHER_TIMEOUT_MS} ms`,
      );
    }, METRICS_GATHER_TIMEOUT_MS);
    gatherings.set(id, { requester, requestId, waiting, snapshots: [], timer });
    for (const worker of waiting.keys()) send(worker, { type: 'huleedu:metrics-collect', id });
    if (waiting.size === 0) finish(id);
  };

  const finish = (id: number, failure?: string): void => {
    const gathering = gatherings.get(id);
    if (gathering === undefined) return;
    gatherings.delete(id);
    clearTimeout(gathering.timer);
    const reply = (exposition: MetricsExposition): void =>
      send(gathering.requester, {
        type: 'huleedu:metrics-result',
        id: gathering.requestId,
        exposition,
      });
    if (failure !== undefined) {
      reply(metricsUnavailable(failure));
      return;
    }
    metrics.render(gathering.snapshots).then(reply, (error: unknown) => {
      logger.error({ err: String(error) }, 'metrics aggregation failed');
      reply(metricsUnavailable('aggregation failed'));
    });
  };

  let allExited: (() => void) | undefined;
  let cleanExit = true;

  const onExit = (worker: Worker, slot: Slot, code: number | null, signal: string | null): void => {
    if (slot.worker === worker) {
      Object.assign(slot, { worker: undefined, listening: false, ready: false });
    }
    // A snapshot that will never come: the gathering completes with the workers still alive
    // (the dead worker's counters are gone anyway; its replacement starts from zero).
    for (const [id, gathering] of gatherings) {
      if (gathering.waiting.delete(worker) && gathering.waiting.size === 0) finish(id);
    }
    const exit = { worker: slot.index, workerPid: worker.process.pid, code, signal };

    if (shuttingDown) {
      if (code !== 0) cleanExit = false;
      logger.info(exit, 'worker exited');
      if (liveWorkers().length === 0) allExited?.();
      return;
    }
    if (!everListening) {
      // Same environment for every worker: if one cannot start, the others will not either.
      startFailed = true;
      logger.error(exit, 'worker exited before the service was listening');
      rejectListening(
        new Error(
          `worker ${slot.index} exited with ${code ?? signal} before listening (see its log line above)`,
        ),
      );
      return;
    }
    const lived = Date.now() - slot.startedAt;
    if (lived >= STABLE_AFTER_MS) slot.quickCrashes = 0;
    const delayMs = Math.min(RESTART_DELAY_MS * 2 ** slot.quickCrashes, MAX_RESTART_DELAY_MS);
    slot.quickCrashes++;
    restarts++;
    logger.warn({ ...exit, livedMs: lived, restartInMs: delayMs }, 'worker died; restarting');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!shuttingDown) fork(slot);
    }, delayMs);
    publishState();
  };

  for (const slot of slots) fork(slot);

  const kill = (): void => {
    for (const worker of liveWorkers()) worker.process.kill('SIGKILL');
  };

  const stop = (): Promise<number> => {
    stopping ??= new Promise<number>((resolve) => {
      shuttingDown = true;
      for (const slot of slots) clearTimeout(slot.restartTimer);
      publishState();
      const live = liveWorkers();
      logger.info({ workers: live.length }, 'stopping workers');
      if (live.length === 0) {
        resolve(startFailed ? 1 : 0);
        return;
      }
      const force = setTimeout(() => {
        logger.error(
          { workers: slots.flatMap((slot) => (slot.worker === undefined ? [] : [slot.index])) },
          'workers did not exit in time; killing them',
        );
        kill();
        resolve(1);
      }, options.shutdownGraceMs + SHUTDOWN_MARGIN_MS);
      allExited = () => {
        clearTimeout(force);
        clearInterval(staleCheck);
        logger.info({ clean: cleanExit }, 'stopped');
        resolve(cleanExit ? 0 : 1);
      };
      // Each worker drains exactly as a single process does on SIGTERM.
      for (const worker of live) worker.process.kill('SIGTERM');
    });
    return stopping;
  };

  return { listening, stop, kill };
}
