import type { BurstResult, ConnectRound, DeliverySummary, FixedRateResult } from './scenario.js';

/**
 * The median of repeated rounds: on a shared machine one round can be hit by a neighbour's work,
 * so a repeated measurement reports its middle round. With an even count, the lower middle (a
 * round that really happened, not an average of two).
 */
export function medianRound<T>(rounds: readonly T[], value: (round: T) => number): T {
  if (rounds.length === 0) throw new RangeError('medianRound needs at least one round');
  const sorted = [...rounds].sort((a, b) => value(a) - value(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The median of the known values (null: a round whose CPU did not register), or null if none. */
export function medianOfKnown(values: ReadonlyArray<number | null>): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length > 0 ? medianRound(known, (value) => value) : null;
}

/** Deliveries per server CPU-second of one round; null when the server's CPU did not register. */
export function roundDeliveriesPerCpuSecond(round: DeliverySummary): number | null {
  return round.cpuSeconds > 0 ? round.delivered / round.cpuSeconds : null;
}

/**
 * The burst figures of a target from its measured rounds: the round that is the median by
 * delivered/s, with deliveries per CPU-second as the median of each round's own (the two medians
 * can come from different rounds). The warm-up round only adds its loss: a loss is a loss.
 */
export function summarizeBurst(
  measured: readonly DeliverySummary[],
  warmup: DeliverySummary | null,
): BurstResult {
  const median = medianRound(measured, (r) => r.deliveredPerSecond);
  const cpuRounds = measured.map(roundDeliveriesPerCpuSecond);
  return {
    ...median,
    rounds: measured.map((r) => Math.round(r.deliveredPerSecond)),
    cpuRounds: cpuRounds.map((value) => (value === null ? null : Math.round(value))),
    deliveriesPerCpuSecond: medianOfKnown(cpuRounds),
    warmupDeliveredPerSecond: warmup === null ? null : Math.round(warmup.deliveredPerSecond),
    lostAllRounds: [...measured, ...(warmup ? [warmup] : [])].reduce((sum, r) => sum + r.lost, 0),
  };
}

/** One fixed-rate round and how long its publishing took, ms. */
export type FixedRateRound = DeliverySummary & { publishMs: number };

function sum<T>(rounds: readonly T[], value: (round: T) => number): number {
  return rounds.reduce((total, round) => total + value(round), 0);
}

/**
 * The fixed-rate figures of a target from its rounds: latency (p50, p99, max, mean) from the
 * round that is the median by p99; counts, times and CPU summed over every round, so `lost` is
 * everything any round lost.
 */
export function summarizeFixedRate(
  rounds: readonly FixedRateRound[],
  rate: number,
): FixedRateResult {
  const median = medianRound(rounds, (r) => r.p99Ms);
  const delivered = sum(rounds, (r) => r.delivered);
  const durationMs = sum(rounds, (r) => r.durationMs);
  const published = sum(rounds, (r) => r.published);
  return {
    published,
    expected: sum(rounds, (r) => r.expected),
    delivered,
    lost: sum(rounds, (r) => r.lost),
    extra: sum(rounds, (r) => r.extra),
    duplicates: sum(rounds, (r) => r.duplicates),
    durationMs,
    deliveredPerSecond: delivered / (Math.max(durationMs, 0.001) / 1000),
    cpuSeconds: sum(rounds, (r) => r.cpuSeconds),
    clientCpuSeconds: sum(rounds, (r) => r.clientCpuSeconds),
    p50Ms: median.p50Ms,
    p99Ms: median.p99Ms,
    maxMs: median.maxMs,
    meanMs: median.meanMs,
    rate,
    achievedRate:
      published /
      (Math.max(
        sum(rounds, (r) => r.publishMs),
        1,
      ) /
        1000),
    roundsP99Ms: rounds.map((r) => r.p99Ms),
  };
}

/** What one connect round measured, before its rates are worked out. */
export type ConnectMeasurement = Omit<ConnectRound, 'perCpuSecond' | 'perSecond'>;

/** One connect round with its own rates: per server CPU-second (null: none registered) and per second. */
export function connectRound(measured: ConnectMeasurement): ConnectRound {
  return {
    ...measured,
    perCpuSecond: measured.cpuSeconds > 0 ? measured.opened / measured.cpuSeconds : null,
    perSecond: measured.opened / (Math.max(measured.durationMs, 0.001) / 1000),
  };
}

/**
 * The connect figures of a target from its rounds: connects per server CPU-second and the connect
 * rate, each the median of the rounds' own (the two can come from different rounds).
 */
export function summarizeConnect(rounds: readonly ConnectRound[]): {
  perCpuSecond: number | null;
  perSecond: number;
} {
  return {
    perCpuSecond: medianOfKnown(rounds.map((round) => round.perCpuSecond)),
    perSecond: medianRound(rounds, (round) => round.perSecond).perSecond,
  };
}
