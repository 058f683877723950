import { type RedisHandle, startRedis } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import type { TargetKind } from './config.js';
import { type Loadgen, startLoadgen } from './loadgen.js';
import type { HistoryRetention } from './publish-script.js';
import { createPublisher, type Publisher } from './publisher.js';
import { allowSlowSubscribers } from './redis-limits.js';
import { medianOfKnown } from './rounds.js';
import { type DeliverySummary, publishAndMeasure } from './scenario.js';
import { waitForQuietCpu } from './settle.js';
import { type RunningTarget, startTarget, targetProfiles } from './targets.js';

/**
 * Fixed-rate latency and server CPU per connect measured in alternating rounds. `pnpm bench`
 * measures one target after the other, minutes apart; on a shared machine the background load
 * drifts between them, and a p99 (the few slowest frames of a round) or a connect round's CPU
 * moves with it by more than the difference between two servers. Here the two servers of a pair
 * run at once, each with its own Redis, sockets and publisher, and take turns: each round
 * publishes at the fixed rate to one of them (or closes and reopens every socket of one of them)
 * while the other idles, in an order that rotates. A pair's figure is the median of the rounds'
 * own ratios.
 */

/** One server of an alternating comparison, with everything that serves only it. */
export interface RateSide {
  readonly name: string;
  readonly target: RunningTarget;
  readonly loadgen: Loadgen;
  readonly publisher: Publisher;
  /** Users whose every socket opened (the rounds publish to them). */
  readonly users: readonly number[];
  /** p50 and p99 of each measured round, ms. */
  readonly p50Ms: number[];
  readonly p99Ms: number[];
  /** Sockets opened per server CPU-second in each connect round (null: no CPU registered). */
  readonly connectsPerCpuSecond: Array<number | null>;
  /** Sockets that failed to open again, every connect round. */
  connectFailures: number;
  /** Frames not delivered in each measured round. */
  readonly lost: number[];
  /** Stops the load generator, the publisher, the server and its Redis. */
  close(): Promise<void>;
}

/** Options of {@link startRateSide}. */
export interface RateSideOptions {
  /** What the side is called in logs (default: the target kind). */
  name?: string;
  kind: TargetKind;
  secret: string;
  users: number;
  tabs: number;
  processes: number;
  sourceAddresses: string[];
  concurrency: number;
  connectTimeoutMs: number;
  maxConnectionsPerUser: number;
  /** The service's entry point ('': the built one). */
  serviceEntry: string;
  /** `WEBSOCKET_WORKERS` of a service side ('' or absent: unset). */
  serviceWorkers?: string;
  /** `WEBSOCKET_HISTORY` of a service side (default: the kind's). */
  history?: 'on' | 'off';
  /** `NODE_OPTIONS` of the server (default: the bench's own). */
  nodeOptions?: string;
  /** Node and V8 flags on the server's command line (see `StartTargetOptions.execArgv`). */
  execArgv?: readonly string[];
  /** History kept by durable publishes (default: notify's defaults). */
  retention?: HistoryRetention;
}

/**
 * Starts a Redis (set up as the bench's own: {@link allowSlowSubscribers}), the server, a load
 * generator holding every socket, and the publisher the kind is fed by (`targetProfiles`), and
 * opens every socket.
 */
export async function startRateSide(options: RateSideOptions): Promise<RateSide> {
  const stops: Array<() => Promise<unknown>> = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const redisServer: RedisHandle = await startRedis();
    stops.push(() => redisServer.stop());
    const admin = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    await allowSlowSubscribers(admin).finally(() => admin.disconnect());
    const target = await startTarget(options.kind, {
      redisUrl: redisServer.url,
      secret: options.secret,
      maxConnectionsPerUser: options.maxConnectionsPerUser,
      serviceEntry: options.serviceEntry,
      ...(options.serviceWorkers ? { serviceWorkers: options.serviceWorkers } : {}),
      ...(options.history ? { history: options.history } : {}),
      ...(options.nodeOptions !== undefined ? { nodeOptions: options.nodeOptions } : {}),
      ...(options.execArgv ? { execArgv: options.execArgv } : {}),
    });
    stops.push(() => target.stop());
    const loadgen = await startLoadgen({
      protocol: targetProfiles[options.kind].protocol,
      url: target.url,
      secret: options.secret,
      users: options.users,
      tabs: options.tabs,
      processes: options.processes,
      sourceAddresses: options.sourceAddresses,
      concurrency: options.concurrency,
      connectTimeoutMs: options.connectTimeoutMs,
    });
    stops.push(() => loadgen.close());
    await loadgen.connect();
    const incomplete = await loadgen.incompleteUsers();
    const users = Array.from({ length: options.users }, (_, user) => user).filter(
      (user) => !incomplete.has(user),
    );
    const publisher = createPublisher(targetProfiles[options.kind].publish, redisServer.url, {
      ...(options.retention ? { retention: options.retention } : {}),
    });
    stops.push(() => publisher.close());
    return {
      name: options.name ?? options.kind,
      target,
      loadgen,
      publisher,
      users,
      p50Ms: [],
      p99Ms: [],
      connectsPerCpuSecond: [],
      connectFailures: 0,
      lost: [],
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** What one round of {@link fixedRateRound} publishes. */
export interface RateRoundOptions {
  rate: number;
  durationMs: number;
  tabs: number;
  /** How long deliveries may stall before the round ends with the rest counted lost, ms. */
  stallMs: number;
}

/**
 * One fixed-rate round on `side`, once its server is idle (the previous round's drain done).
 * The summary is not recorded on the side: {@link alternateFixedRate} records its rounds.
 */
export async function fixedRateRound(
  side: RateSide,
  options: RateRoundOptions,
): Promise<DeliverySummary> {
  await waitForQuietCpu(() => side.target.cpuSeconds(), 1000);
  const { publishMs: _publishMs, ...summary } = await publishAndMeasure(
    side.target,
    side.loadgen,
    options.tabs,
    options.stallMs,
    () => side.publisher.fixedRate(options.rate, options.durationMs, side.users),
    {},
  );
  return summary;
}

/**
 * One unmeasured round on each side (the first publishes warm up the paths), then `rounds`
 * measured rounds on each, the order rotating every round; each side's p50 and p99 are recorded.
 */
export async function alternateFixedRate(
  sides: readonly RateSide[],
  rounds: number,
  options: RateRoundOptions,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  for (const side of sides) await fixedRateRound(side, options);
  for (let round = 0; round < rounds; round++) {
    const line: string[] = [];
    for (let i = 0; i < sides.length; i++) {
      const side = sides[(i + round) % sides.length]!;
      const summary = await fixedRateRound(side, options);
      side.p50Ms.push(summary.p50Ms);
      side.p99Ms.push(summary.p99Ms);
      side.lost.push(summary.lost);
      line.push(`${side.name} p99 ${summary.p99Ms.toFixed(2)} ms (lost ${summary.lost})`);
    }
    log(`alternating fixed rate, round ${round + 1}/${rounds}: ${line.join(', ')}`);
  }
}

/**
 * One connect round on `side`: every client closes its socket, the server settles, and every
 * socket opens again (as a new client) from `sourceAddresses`, fresh ones: the closed sockets'
 * ports sit in TIME_WAIT. Records the sockets opened per server CPU-second.
 */
export async function connectRound(side: RateSide, sourceAddresses: string[]): Promise<void> {
  await side.loadgen.disconnect(30_000);
  await waitForQuietCpu(() => side.target.cpuSeconds(), 1000);
  const before = side.target.cpuSeconds();
  const summary = await side.loadgen.connect(1, sourceAddresses);
  const cpuSeconds = side.target.cpuSeconds() - before;
  side.connectsPerCpuSecond.push(cpuSeconds > 0 ? summary.openedNow / cpuSeconds : null);
  side.connectFailures += summary.sockets - summary.opened;
}

/**
 * `rounds` connect rounds on each side, the order rotating every round; `addresses(side, round)`
 * gives each its own source addresses.
 */
export async function alternateConnects(
  sides: readonly RateSide[],
  rounds: number,
  addresses: (side: number, round: number) => string[],
  log: (line: string) => void = () => undefined,
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const line: string[] = [];
    for (let i = 0; i < sides.length; i++) {
      const index = (i + round) % sides.length;
      const side = sides[index]!;
      await connectRound(side, addresses(index, round));
      const perCpu = side.connectsPerCpuSecond.at(-1);
      line.push(`${side.name} ${perCpu == null ? '-' : Math.round(perCpu)} per CPU-second`);
    }
    log(`alternating connects, round ${round + 1}/${rounds}: ${line.join(', ')}`);
  }
}

/**
 * The median of the rounds' own ratios `subject[n] / baseline[n]`: each round's two figures were
 * measured seconds apart, under the same background load (with an even count, the lower middle,
 * as every median of the bench). Rounds where either side has no positive figure are left out;
 * null when none is left.
 */
export function medianOfRatios(
  subject: ReadonlyArray<number | null>,
  baseline: ReadonlyArray<number | null>,
): number | null {
  const ratios: number[] = [];
  for (let n = 0; n < Math.min(subject.length, baseline.length); n++) {
    const s = subject[n];
    const b = baseline[n];
    if (s != null && b != null && s > 0 && b > 0) ratios.push(s / b);
  }
  return medianOfKnown(ratios);
}

/** A service setting's alternating rounds against its like-for-like baseline. */
export interface PairedRateResult {
  subject: TargetKind;
  baseline: TargetKind;
  rate: number;
  durationMs: number;
  /** Each measured round's p99 (ms) of the subject and of the baseline, in round order. */
  subjectP99Ms: number[];
  baselineP99Ms: number[];
  /** {@link medianOfRatios} of the p99s. */
  p99Ratio: number | null;
  /** Each connect round's sockets opened per server CPU-second, subject and baseline. */
  subjectConnectsPerCpuSecond: Array<number | null>;
  baselineConnectsPerCpuSecond: Array<number | null>;
  /** {@link medianOfRatios} of the connects per server CPU-second. */
  connectRatio: number | null;
  /** Sockets that failed to open again in the connect rounds, both sides. */
  connectFailures: number;
  /** Frames not delivered, every measured round of both sides. */
  lost: number;
}

/** Options of {@link runPairedRate}: the side options both servers share, and the rounds. */
export interface PairedRateOptions
  extends Omit<RateSideOptions, 'kind' | 'name' | 'sourceAddresses'>,
    RateRoundOptions {
  rounds: number;
  /**
   * Source addresses of each side (0: the subject, 1: the baseline) for its first connect
   * (`round` 0) and for each connect round after the fixed rate (1 to `rounds`): fresh ones each.
   */
  sourceAddresses: (side: number, round: number) => string[];
}

/**
 * Runs {@link alternateFixedRate}, then {@link alternateConnects}, on `subject` and `baseline`,
 * then stops both.
 */
export async function runPairedRate(
  subject: TargetKind,
  baseline: TargetKind,
  options: PairedRateOptions,
  log: (line: string) => void = () => undefined,
): Promise<PairedRateResult> {
  const sides: RateSide[] = [];
  try {
    for (const [index, kind] of [subject, baseline].entries()) {
      log(`alternating fixed rate: starting ${kind}`);
      sides.push(
        await startRateSide({
          ...options,
          kind,
          sourceAddresses: options.sourceAddresses(index, 0),
        }),
      );
    }
    await alternateFixedRate(sides, options.rounds, options, log);
    await alternateConnects(
      sides,
      options.rounds,
      (side, round) => options.sourceAddresses(side, round + 1),
      log,
    );
    const [s, b] = sides as [RateSide, RateSide];
    return {
      subject,
      baseline,
      rate: options.rate,
      durationMs: options.durationMs,
      subjectP99Ms: s.p99Ms,
      baselineP99Ms: b.p99Ms,
      p99Ratio: medianOfRatios(s.p99Ms, b.p99Ms),
      subjectConnectsPerCpuSecond: s.connectsPerCpuSecond,
      baselineConnectsPerCpuSecond: b.connectsPerCpuSecond,
      connectRatio: medianOfRatios(s.connectsPerCpuSecond, b.connectsPerCpuSecond),
      connectFailures: s.connectFailures + b.connectFailures,
      lost: [...s.lost, ...b.lost].reduce((sum, n) => sum + n, 0),
    };
  } finally {
    for (const side of sides) await side.close();
  }
}
