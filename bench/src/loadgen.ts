import { type ChildProcess, fork } from 'node:child_process';
import { killChild, track } from './children.js';
import { BenchError } from './errors.js';
import { LatencyHistogram } from './histogram.js';
import type {
  ConnectResult,
  CountsResult,
  DisconnectResult,
  RetryPolicy,
  StatsResult,
  WorkerCommand,
  WorkerPlan,
  WorkerReply,
  WorkerRequest,
} from './loadgen-protocol.js';
import { benchScript } from './paths.js';
import { cpuSeconds } from './proc.js';
import type { PublishedPosition } from './publisher.js';
import { newTally, type PositionAudit, type ResumeTally } from './resume-tracking.js';

/** Options of {@link startLoadgen}. */
export interface LoadgenOptions {
  protocol: 'ws' | 'socketio';
  url: string;
  secret: string;
  users: number;
  tabs: number;
  processes: number;
  sourceAddresses: string[];
  /** Addresses for every other (re)open of a socket (default none: always `sourceAddresses`). */
  spareAddresses?: string[];
  concurrency: number;
  connectTimeoutMs: number;
  /** Retries of a failed initial connect (default none: a failure is a finding). */
  retry?: RetryPolicy;
  /** Token lifetime, seconds (default 2 hours). */
  tokenTtlSeconds?: number;
}

/** One connect call over every process. */
export interface ConnectSummary {
  sockets: number;
  /** Sockets open now, from every call so far. */
  opened: number;
  /** Sockets this call opened. */
  openedNow: number;
  failed: number;
  /** Failure reasons seen in this call. */
  failures: Record<string, number>;
  /** This call's first handshake start to last handshake end, ms. */
  durationMs: number;
  /** Sockets this call opened per second over that time. */
  perSecond: number;
  /** Users with fewer than `tabs` open sockets (known once every socket was tried). */
  incompleteUsers: Set<number>;
}

/** Statistics over every process since the last reset. */
export interface LoadgenStats {
  delivered: number;
  open: number;
  firstDeliveryAt: number;
  lastDeliveryAt: number;
  lastOpenAt: number;
  latency: LatencyHistogram;
  closes: Record<string, number>;
  reconnects: number;
  reconnectFailures: number;
  reconnectFailureReasons: Record<string, number>;
  /** Positions followed, skipped and seen twice, over every process. */
  resume: ResumeTally;
}

/** Load-generator processes driven as one. */
export interface Loadgen {
  /** Sockets this load generator opens in total. */
  readonly sockets: number;
  /**
   * Opens sockets until `share` (default all) of them have been tried in this pass; a later call
   * continues where the previous one stopped. Counts in the summary are totals so far in the
   * pass. `sourceAddresses`, when given, replaces the ones sockets bind to from this call on.
   */
  connect(share?: number, sourceAddresses?: string[]): Promise<ConnectSummary>;
  /**
   * Closes every socket from the client side (reconnecting must be off) and resolves once every
   * connection is gone, or after `timeoutMs` with the rest dropped. Starts a new pass: the next
   * connect opens every socket again, as new clients (no resume position).
   */
  disconnect(timeoutMs: number): Promise<DisconnectResult>;
  counts(): Promise<CountsResult>;
  /** Users with fewer than `tabs` sockets open right now. */
  incompleteUsers(): Promise<Set<number>>;
  stats(): Promise<LoadgenStats>;
  /** Every socket against the last position published to its user (users not listed: skipped). */
  audit(published: ReadonlyMap<number, PublishedPosition>): Promise<PositionAudit>;
  /** Zeroes delivery counts and latencies. */
  reset(): Promise<void>;
  /** Reopen sockets the server drops (with jittered backoff), or stop doing so. */
  setReconnect(enabled: boolean, retry: RetryPolicy): Promise<void>;
  /** CPU seconds every load-generator process has used so far. */
  cpuSeconds(): number;
  /** Closes every socket and ends every process (killed if they do not leave in 10 s). */
  close(): Promise<void>;
}

const NO_RETRY: RetryPolicy = { attempts: 0, baseMs: 0, maxMs: 0 };

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
}

function addTally(into: ResumeTally, from: ResumeTally): void {
  into.fresh += from.fresh;
  into.duplicates += from.duplicates;
  into.missed += from.missed;
  into.resynced += from.resynced;
  into.epochChanges += from.epochChanges;
  into.synced += from.synced;
  into.replayed += from.replayed;
  addCounts(into.resyncs, from.resyncs);
}

class WorkerHandle {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private exitError: Error | undefined;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
    /** The users this process holds: [firstUser, firstUser + userCount). */
    readonly firstUser: number,
    readonly userCount: number,
  ) {
    child.on('message', (reply: WorkerReply) => {
      const entry = this.pending.get(reply.id);
      if (!entry) return;
      this.pending.delete(reply.id);
      clearTimeout(entry.timer);
      if (reply.ok) entry.resolve(reply.result);
      else
        entry.reject(
          new BenchError('loadgen_failed', `load generator ${index}: ${reply.error.message}`),
        );
    });
    child.once('exit', (code, signal) => {
      this.exitError = new BenchError(
        'loadgen_failed',
        `load generator ${index} exited (${signal ?? `code ${code}`})`,
      );
      for (const entry of this.pending.values()) {
        clearTimeout(entry.timer);
        entry.reject(this.exitError);
      }
      this.pending.clear();
    });
  }

  call<T>(request: WorkerCommand, timeoutMs: number): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new BenchError(
            'timeout',
            `load generator ${this.index} did not answer ${request.cmd} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.child.send({ ...request, id } as WorkerRequest);
    });
  }
}

/**
 * Forks the load-generator processes, gives each its share of users (whole users, so all tabs of
 * a user live in one process) and signs their tokens. Resolves once every process is ready.
 */
export async function startLoadgen(options: LoadgenOptions): Promise<Loadgen> {
  const script = benchScript('loadgen-worker');
  const processes = Math.max(1, Math.min(options.processes, options.users));
  const workers: WorkerHandle[] = [];
  const sockets = options.users * options.tabs;
  // A process in the middle of a reconnect storm on shared cores can take a long time to get to
  // its IPC messages (more than 2 minutes with 14,000 sockets on a machine at load 20); this
  // only bounds a hung one.
  const quick = 600_000;

  const close = async (): Promise<void> => {
    await Promise.all(
      workers.map(async (worker) => {
        const exited = new Promise<void>((resolve) => {
          if (worker.child.exitCode !== null || worker.child.signalCode !== null) resolve();
          else worker.child.once('exit', () => resolve());
        });
        await worker.call({ cmd: 'close' }, 10_000).catch(() => undefined);
        const timer = setTimeout(() => killChild(worker.child, 'SIGKILL', false), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  };

  try {
    const ready: Promise<unknown>[] = [];
    let firstUser = 0;
    for (let index = 0; index < processes; index++) {
      const userCount =
        Math.floor(options.users / processes) + (index < options.users % processes ? 1 : 0);
      const child = fork(script, [], {
        execArgv: [],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      track(child);
      const worker = new WorkerHandle(index, child, firstUser, userCount);
      workers.push(worker);
      const plan: WorkerPlan = {
        protocol: options.protocol,
        url: options.url,
        secret: options.secret,
        firstUser,
        userCount,
        tabs: options.tabs,
        sourceAddresses: options.sourceAddresses,
        spareAddresses: options.spareAddresses ?? [],
        firstSocket: firstUser * options.tabs,
        concurrency: options.concurrency,
        connectTimeoutMs: options.connectTimeoutMs,
        retry: options.retry ?? NO_RETRY,
        tokenTtlSeconds: options.tokenTtlSeconds ?? 7200,
      };
      firstUser += userCount;
      ready.push(worker.call({ cmd: 'init', plan }, 120_000)); // token signing runs in parallel
    }
    await Promise.all(ready);
  } catch (error) {
    await close();
    throw error;
  }

  const all = <T>(request: WorkerCommand, timeoutMs = quick): Promise<T[]> =>
    Promise.all(workers.map((worker) => worker.call<T>(request, timeoutMs)));

  let openedBefore = 0;
  return {
    sockets,
    async connect(share = 1, sourceAddresses) {
      // Bounded by the handshake timeout and the retries of the slowest lane.
      const results = await all<ConnectResult>(
        { cmd: 'connect', share, ...(sourceAddresses ? { sourceAddresses } : {}) },
        60 * 60_000,
      );
      const failures: Record<string, number> = {};
      const incompleteUsers = new Set<number>();
      let opened = 0;
      let failed = 0;
      for (const result of results) {
        opened += result.opened;
        failed += result.failed;
        addCounts(failures, result.failures);
        for (const user of result.incompleteUsers) incompleteUsers.add(user);
      }
      const startedAt = Math.min(...results.map((r) => r.startedAt));
      const finishedAt = Math.max(...results.map((r) => r.finishedAt));
      const durationMs = Math.max(finishedAt - startedAt, 0.001);
      const openedNow = opened - openedBefore;
      openedBefore = opened;
      return {
        sockets,
        opened,
        openedNow,
        failed,
        failures,
        durationMs,
        perSecond: openedNow / (durationMs / 1000),
        incompleteUsers,
      };
    },
    async disconnect(timeoutMs) {
      const results = await all<DisconnectResult>(
        { cmd: 'disconnect', timeoutMs },
        timeoutMs + quick,
      );
      openedBefore = 0;
      return {
        closed: results.reduce((sum, r) => sum + r.closed, 0),
        dropped: results.reduce((sum, r) => sum + r.dropped, 0),
      };
    },
    async incompleteUsers() {
      const results = await all<number[]>({ cmd: 'incomplete' });
      return new Set(results.flat());
    },
    async counts() {
      const results = await all<CountsResult>({ cmd: 'counts' });
      return {
        delivered: results.reduce((sum, r) => sum + r.delivered, 0),
        fresh: results.reduce((sum, r) => sum + r.fresh, 0),
        open: results.reduce((sum, r) => sum + r.open, 0),
        back: results.reduce((sum, r) => sum + r.back, 0),
        lastDeliveryAt: Math.max(0, ...results.map((r) => r.lastDeliveryAt)),
        lastOpenAt: Math.max(0, ...results.map((r) => r.lastOpenAt)),
        synced: results.reduce((sum, r) => sum + r.synced, 0),
        lastSyncedAt: Math.max(0, ...results.map((r) => r.lastSyncedAt)),
      };
    },
    async stats() {
      const results = await all<StatsResult>({ cmd: 'stats' });
      const latency = new LatencyHistogram();
      const closes: Record<string, number> = {};
      const reconnectFailureReasons: Record<string, number> = {};
      const resume = newTally();
      for (const result of results) {
        latency.merge(result.latency);
        addCounts(closes, result.closes);
        addCounts(reconnectFailureReasons, result.reconnectFailureReasons);
        addTally(resume, result.resume);
      }
      const firsts = results.map((r) => r.firstDeliveryAt).filter((t) => t > 0);
      return {
        delivered: results.reduce((sum, r) => sum + r.delivered, 0),
        open: results.reduce((sum, r) => sum + r.open, 0),
        firstDeliveryAt: firsts.length > 0 ? Math.min(...firsts) : 0,
        lastDeliveryAt: Math.max(0, ...results.map((r) => r.lastDeliveryAt)),
        lastOpenAt: Math.max(0, ...results.map((r) => r.lastOpenAt)),
        latency,
        closes,
        reconnects: results.reduce((sum, r) => sum + r.reconnects, 0),
        reconnectFailures: results.reduce((sum, r) => sum + r.reconnectFailures, 0),
        reconnectFailureReasons,
        resume,
      };
    },
    async audit(published) {
      const results = await Promise.all(
        workers.map((worker) => {
          const mine: Array<[number, number, string]> = [];
          for (let user = worker.firstUser; user < worker.firstUser + worker.userCount; user++) {
            const top = published.get(user);
            if (top) mine.push([user, top.position, top.epoch]);
          }
          return worker.call<PositionAudit>({ cmd: 'audit', published: mine }, quick);
        }),
      );
      const total: PositionAudit = {
        sockets: 0,
        behind: 0,
        tail: 0,
        tailAfterResync: 0,
        otherEpoch: 0,
      };
      for (const r of results) {
        total.sockets += r.sockets;
        total.behind += r.behind;
        total.tail += r.tail;
        total.tailAfterResync += r.tailAfterResync;
        total.otherEpoch += r.otherEpoch;
      }
      return total;
    },
    async reset() {
      await all({ cmd: 'reset' });
    },
    cpuSeconds() {
      return workers.reduce((sum, worker) => sum + cpuSeconds(worker.child.pid ?? 0), 0);
    },
    async setReconnect(enabled, retry) {
      await all({ cmd: 'reconnect', enabled, retry });
    },
    close,
  };
}
