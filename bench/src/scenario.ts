import type { Redis } from 'ioredis';
import { monotonicUs, sleep } from './clock.js';
import type { BenchConfig, TargetKind } from './config.js';
import { waitForDeliveries } from './drain.js';
import { type ConnectSummary, type Loadgen, startLoadgen } from './loadgen.js';
import { createPublisher, type Publisher } from './publisher.js';
import { waitForChannelSubscribers, waitForPatternSubscriber } from './readiness.js';
import {
  connectRound,
  type FixedRateRound,
  roundDeliveriesPerCpuSecond,
  summarizeBurst,
  summarizeConnect,
  summarizeFixedRate,
} from './rounds.js';
import { waitForQuietCpu } from './settle.js';
import { type RunningTarget, startTarget } from './targets.js';

/** A phase of a run in the monotonic clock (µs), for cutting CPU profiles into phases. */
export interface PhaseWindow {
  name: 'connect' | 'burst' | 'fixed-rate';
  startUs: number;
  endUs: number;
  /** Work done in the window: sockets opened (connect) or frames delivered (burst, fixed rate). */
  units?: number;
}

/** Latency percentiles in ms. */
export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Delivery numbers of one publishing phase. */
export interface DeliverySummary extends LatencySummary {
  published: number;
  /** Deliveries that should arrive: published x tabs. */
  expected: number;
  delivered: number;
  /** expected - delivered after the drain timeout (never negative). */
  lost: number;
  /** Deliveries beyond the expected (duplicates); should be 0. */
  extra: number;
  /** Positioned messages a socket received twice (0 for targets without positions). */
  duplicates: number;
  /** First publish to last delivery, ms. */
  durationMs: number;
  /** Deliveries per second over that time. */
  deliveredPerSecond: number;
  /** CPU seconds the server spent in the phase. */
  cpuSeconds: number;
  /** CPU seconds the load generators spent in the phase (near the machine's spare: client-bound). */
  clientCpuSeconds: number;
}

/**
 * The burst phase: the measured round that is the median by delivered/s, with every measured
 * round's figures. The fields marked optional are absent in reports of the single-round format.
 */
export type BurstResult = DeliverySummary & {
  /** Delivered/s of each measured round (the warm-up round is not among them). */
  rounds: number[];
  /** Deliveries per server CPU-second of each measured round (null: no CPU registered). */
  cpuRounds?: Array<number | null>;
  /** The median of `cpuRounds`: the headline figure (null when no round registered CPU). */
  deliveriesPerCpuSecond?: number | null;
  /** Delivered/s of the warm-up round, logged and kept but never counted. */
  warmupDeliveredPerSecond?: number | null;
  /** Deliveries lost over every round, the warm-up included. */
  lostAllRounds: number;
};

/**
 * The fixed-rate phase: latency from the round that is the median by p99; published, delivered,
 * lost, durations and CPU summed over all rounds.
 */
export type FixedRateResult = DeliverySummary & {
  rate: number;
  achievedRate: number;
  /** p99 of each round, ms (absent in reports of the single-round format: one round). */
  roundsP99Ms?: number[];
};

/** One connect round: every socket opened, in two halves, as new clients. */
export interface ConnectRound {
  /** Sockets open at the end of the round. */
  opened: number;
  /** Sockets tried in the round that did not open (a finding: never retried). */
  failed: number;
  /** Failure reasons of the round and how often each happened. */
  failures: Record<string, number>;
  /** Both halves' handshake time, without the pause between them, ms. */
  durationMs: number;
  /** CPU seconds the server spent in the two halves. */
  cpuSeconds: number;
  /** opened / cpuSeconds (null: no CPU registered). */
  perCpuSecond: number | null;
  /** opened / durationMs, per second. */
  perSecond: number;
}

/** 1-minute load average when a target's measurement started and ended. */
export interface LoadAverage {
  start: number;
  end: number;
}

/** Everything measured on one server. */
export interface TargetResult {
  kind: TargetKind;
  label: string;
  sockets: number;
  /**
   * The first connect round's figures (the memory figures are per socket of that round), except
   * the two rates: the medians over every round.
   */
  connect: {
    opened: number;
    failed: number;
    failures: Record<string, number>;
    /** Both halves' handshake time, without the pause between them. */
    durationMs: number;
    /** Sockets/s: the median of the rounds' own (one round in reports from before the rounds). */
    perSecond: number;
    cpuSeconds: number;
    /**
     * Connects per server CPU-second: the median of the rounds' own (null: no round registered
     * CPU; absent in reports from before the connect rounds, where it is opened / cpuSeconds).
     */
    perCpuSecond?: number | null;
    /** Every connect round, the first one first (absent in reports from before them). */
    rounds?: ConnectRound[];
  };
  readiness: { ready: boolean; missing: number; waitedMs: number };
  memory: {
    /** Before the first socket. */
    baselineRssBytes: number;
    /** Every socket open, after the settle pause. */
    idleRssBytes: number;
    /** (idle - baseline) / sockets: the average, one-off growth included. */
    perSocketBytes: number;
    /** Half of the sockets open, after the settle pause. */
    halfRssBytes?: number;
    /** (idle - half) / (sockets in the second half): what one more socket costs. */
    marginalPerSocketBytes?: number;
  };
  burst: BurstResult | null;
  fixedRate: FixedRateResult | null;
  /** Deliveries lost over all phases. */
  lost: number;
  /** The machine's load around this target (absent in reports of the single-round format). */
  loadAverage?: LoadAverage;
  /** Close reasons of sockets the server closed during the run. */
  unexpectedCloses: Record<string, number>;
  windows: PhaseWindow[];
}

/** Shared pieces of a run that outlive one target. */
export interface ScenarioContext {
  redisUrl: string;
  /** A plain Redis client for readiness checks. */
  redis: Redis;
  log(line: string): void;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
}

/**
 * Resets delivery counts, runs one publishing phase, waits for the deliveries (or a stall) and
 * summarises them, with the CPU the server spent meanwhile.
 */
export async function publishAndMeasure(
  target: RunningTarget,
  loadgen: Loadgen,
  tabs: number,
  stallMs: number,
  publish: () => Promise<{ published: number; startedAt: number; finishedAt: number }>,
  closes: Record<string, number>,
): Promise<DeliverySummary & { publishMs: number }> {
  await loadgen.reset();
  const cpuBefore = target.cpuSeconds();
  const clientCpuBefore = loadgen.cpuSeconds();
  const sent = await publish();
  const expected = sent.published * tabs;
  const drained = await waitForDeliveries(() => loadgen.counts(), expected, stallMs);
  const cpuSeconds = target.cpuSeconds() - cpuBefore;
  const clientCpuSeconds = loadgen.cpuSeconds() - clientCpuBefore;
  const stats = await loadgen.stats();
  addCounts(closes, stats.closes);
  const end = stats.lastDeliveryAt > 0 ? stats.lastDeliveryAt : sent.finishedAt;
  const durationMs = Math.max(end - sent.startedAt, 0.001);
  return {
    published: sent.published,
    expected,
    delivered: drained.counts.delivered,
    lost: Math.max(0, expected - drained.counts.delivered),
    extra: Math.max(0, drained.counts.delivered - expected),
    duplicates: stats.resume.duplicates,
    durationMs,
    deliveredPerSecond: drained.counts.delivered / (durationMs / 1000),
    cpuSeconds,
    clientCpuSeconds,
    p50Ms: stats.latency.percentile(50),
    p99Ms: stats.latency.percentile(99),
    maxMs: stats.latency.maxMs(),
    meanMs: stats.latency.mean(),
    publishMs: sent.finishedAt - sent.startedAt,
  };
}

function perCpuSecondText(value: number | null): string {
  return value === null ? 'no server CPU registered' : `${Math.round(value)} per CPU-second`;
}

/**
 * Opens every socket of a pass in two halves with a `settleMs` pause between them (`atHalf` runs
 * after it), measuring the server's CPU and the handshake time of the halves only, and adds each
 * half to `windows`. `sourceAddresses` replaces the addresses sockets bind to for this pass.
 */
async function connectInHalves(
  target: RunningTarget,
  loadgen: Loadgen,
  settleMs: number,
  windows: PhaseWindow[],
  options: { sourceAddresses?: string[]; atHalf?: (half: ConnectSummary) => void } = {},
): Promise<{ round: ConnectRound; summary: ConnectSummary }> {
  const failures: Record<string, number> = {};
  let durationMs = 0;
  let cpuSeconds = 0;
  let summary: ConnectSummary | undefined;
  for (const share of [0.5, 1]) {
    const cpuBefore = target.cpuSeconds();
    const startUs = monotonicUs();
    summary = await loadgen.connect(share, options.sourceAddresses);
    windows.push({ name: 'connect', startUs, endUs: monotonicUs(), units: summary.openedNow });
    cpuSeconds += target.cpuSeconds() - cpuBefore;
    durationMs += summary.durationMs;
    addCounts(failures, summary.failures);
    if (share < 1) {
      await sleep(settleMs);
      options.atHalf?.(summary);
    }
  }
  if (!summary) throw new Error('unreachable: the connect loop runs twice');
  const round = connectRound({
    opened: summary.opened,
    failed: summary.failed,
    failures,
    durationMs,
    cpuSeconds,
  });
  return { round, summary };
}

function connectRoundText(
  label: string,
  n: number,
  of: number,
  round: ConnectRound,
  sockets: number,
): string {
  return (
    `${label}: connect round ${n}/${of}: ${round.opened}/${sockets} open in ${Math.round(round.durationMs)} ms, ` +
    perCpuSecondText(round.perCpuSecond) +
    (round.failed > 0 ? ` (failures: ${JSON.stringify(round.failures)})` : '')
  );
}

/**
 * Measures one server: start it, connect every socket (connect rate), wait until it is
 * subscribed for every user, sample idle memory, publish a warm-up burst and then the measured
 * ones (delivered/s, deliveries per CPU-second), publish at a fixed rate for a few rounds
 * (latency), close and reopen every socket for the further connect rounds, and stop everything,
 * even on error.
 */
export async function benchTarget(
  kind: TargetKind,
  config: BenchConfig,
  context: ScenarioContext,
  options: {
    profileDir?: string;
    /** Source addresses of the first connect round (default: the config's). */
    sourceAddresses?: string[];
    /** Source addresses of connect rounds 2, 3, ... (default: the first round's). */
    roundAddresses?: string[][];
  } = {},
): Promise<TargetResult> {
  const { log } = context;
  const sockets = config.users * config.tabs;
  const target = await startTarget(kind, {
    redisUrl: context.redisUrl,
    secret: config.secret,
    maxConnectionsPerUser: Math.max(config.tabs, 5),
    serviceEntry: config.serviceEntry,
    serviceWorkers: config.serviceWorkers,
    ...(options.profileDir ? { profileDir: options.profileDir } : {}),
  });
  let loadgen: Loadgen | undefined;
  let publisher: Publisher | undefined;
  try {
    await sleep(config.settleMs);
    const baselineRssBytes = target.rssBytes();
    loadgen = await startLoadgen({
      protocol: target.profile.protocol,
      url: target.url,
      secret: config.secret,
      users: config.users,
      tabs: config.tabs,
      processes: config.processes,
      sourceAddresses: options.sourceAddresses ?? config.sourceAddresses,
      concurrency: config.concurrency,
      connectTimeoutMs: config.connectTimeoutMs,
    });
    log(`${target.profile.label}: connecting ${sockets} sockets`);
    const windows: PhaseWindow[] = [];
    // In two halves with an idle memory sample between them: the slope between that sample and
    // the final one is the marginal cost of a socket, free of the one-off growth (young
    // generation, compiled code) that the first connections cause.
    let half = { rssBytes: 0, opened: 0 };
    const first = await connectInHalves(target, loadgen, config.settleMs, windows, {
      atHalf: (summary) => {
        half = { rssBytes: target.rssBytes(), opened: summary.opened };
      },
    });
    const connect = first.summary;
    const connectRounds = [first.round];
    log(connectRoundText(target.profile.label, 1, config.connectRounds, first.round, sockets));

    const users: number[] = [];
    for (let user = 0; user < config.users; user++) {
      if (!connect.incompleteUsers.has(user)) users.push(user);
    }
    const readiness =
      target.profile.subscription === 'channels'
        ? await waitForChannelSubscribers(context.redis, users, 60_000)
        : await waitForPatternSubscriber(context.redis, 60_000);
    if (!readiness.ready) {
      log(`${target.profile.label}: ${readiness.missing} user channels still unsubscribed`);
    }
    await sleep(config.settleMs);
    const idleRssBytes = target.rssBytes();

    publisher = createPublisher(target.profile.publish, context.redisUrl, {
      retention: config.retention,
    });
    const closes: Record<string, number> = {};
    const stallMs = config.drainTimeoutMs;

    let burst: BurstResult | null = null;
    if (config.burst > 0 && users.length > 0) {
      const pub = publisher;
      const clients = loadgen;
      const runRound = async (name: string): Promise<DeliverySummary> => {
        const { publishMs, ...summary } = await publishAndMeasure(
          target,
          clients,
          config.tabs,
          stallMs,
          () => pub.burst(config.burst, users),
          closes,
        );
        log(
          `${target.profile.label}: burst ${name}: ${summary.delivered}/${summary.expected} delivered, ` +
            `${Math.round(summary.deliveredPerSecond)}/s, ${perCpuSecondText(roundDeliveriesPerCpuSecond(summary))} ` +
            `(published in ${Math.round(publishMs)} ms)`,
        );
        return summary;
      };
      // The first burst is always slower (JIT, TCP buffers growing): it runs, but is not counted,
      // and stays out of the profile's burst phase.
      const warmup = await runRound('warm-up (not counted)');
      const startUs = monotonicUs();
      const rounds: DeliverySummary[] = [];
      for (let round = 1; round <= config.burstRounds; round++) {
        rounds.push(await runRound(`${round}/${config.burstRounds}`));
      }
      windows.push({
        name: 'burst',
        startUs,
        endUs: monotonicUs(),
        units: rounds.reduce((sum, r) => sum + r.delivered, 0),
      });
      burst = summarizeBurst(rounds, warmup);
    }

    let fixedRate: FixedRateResult | null = null;
    if (config.rate > 0 && config.durationMs > 0 && users.length > 0) {
      const pub = publisher;
      const startUs = monotonicUs();
      const rounds: FixedRateRound[] = [];
      for (let round = 1; round <= config.rateRounds; round++) {
        const summary = await publishAndMeasure(
          target,
          loadgen,
          config.tabs,
          stallMs,
          () => pub.fixedRate(config.rate, config.durationMs, users),
          closes,
        );
        rounds.push(summary);
        log(
          `${target.profile.label}: ${config.rate} msg/s, round ${round}/${config.rateRounds}: ` +
            `p50 ${summary.p50Ms.toFixed(2)} ms, p99 ${summary.p99Ms.toFixed(2)} ms, ` +
            `max ${summary.maxMs.toFixed(2)} ms, lost ${summary.lost}`,
        );
      }
      windows.push({
        name: 'fixed-rate',
        startUs,
        endUs: monotonicUs(),
        units: rounds.reduce((sum, r) => sum + r.delivered, 0),
      });
      fixedRate = summarizeFixedRate(rounds, config.rate);
    }

    // The further connect rounds come last, so the burst, fixed-rate and memory figures above
    // are those of the first sockets, as always: every socket closed by its client, the server
    // left to settle, then every socket opened again from the round's own source addresses.
    for (let round = 2; round <= config.connectRounds; round++) {
      const closed = await loadgen.disconnect(config.connectTimeoutMs);
      if (closed.dropped > 0) {
        log(`${target.profile.label}: ${closed.dropped} sockets had not closed in time, dropped`);
      }
      const settled = await waitForQuietCpu(() => target.cpuSeconds(), config.settleMs);
      if (!settled.quiet) {
        log(`${target.profile.label}: CPU still moving ${settled.waitedMs} ms after the closes`);
      }
      const next = await connectInHalves(target, loadgen, config.settleMs, windows, {
        sourceAddresses: options.roundAddresses?.[round - 2],
      });
      connectRounds.push(next.round);
      log(connectRoundText(target.profile.label, round, config.connectRounds, next.round, sockets));
    }
    const connectFigures = summarizeConnect(connectRounds);

    return {
      kind,
      label: target.profile.label,
      sockets,
      connect: {
        opened: first.round.opened,
        failed: first.round.failed,
        failures: first.round.failures,
        durationMs: first.round.durationMs,
        perSecond: connectFigures.perSecond,
        cpuSeconds: first.round.cpuSeconds,
        perCpuSecond: connectFigures.perCpuSecond,
        rounds: connectRounds,
      },
      readiness,
      memory: {
        baselineRssBytes,
        idleRssBytes,
        perSocketBytes: connect.opened > 0 ? (idleRssBytes - baselineRssBytes) / connect.opened : 0,
        halfRssBytes: half.rssBytes,
        marginalPerSocketBytes:
          connect.opened > half.opened
            ? (idleRssBytes - half.rssBytes) / (connect.opened - half.opened)
            : 0,
      },
      burst,
      fixedRate,
      lost: (burst?.lostAllRounds ?? 0) + (fixedRate?.lost ?? 0),
      unexpectedCloses: closes,
      windows,
    };
  } finally {
    await loadgen?.close().catch(() => undefined);
    await publisher?.close().catch(() => undefined);
    await target.stop();
  }
}
