import { isService, pairedBaselines, settingBaselines, type TargetKind } from './config.js';
import type { HistoryReport } from './history-cost.js';
import type { MachineInfo } from './machine.js';
import type { PairedRateResult } from './paired-rate.js';
import type { ProfileSummary } from './profile.js';
import type { HistoryRetention } from './publish-script.js';
import type { TargetResult } from './scenario.js';

/** The settings a report was measured with (the parts that change the numbers). */
export interface ReportConfig {
  users: number;
  tabs: number;
  sockets: number;
  processes: number;
  sourceAddresses: string[];
  concurrency: number;
  burst: number;
  /** Measured burst rounds (after one warm-up round when `rateRounds` is present). */
  burstRounds: number;
  rate: number;
  /** Length of one fixed-rate round, ms. */
  durationMs: number;
  /** Fixed-rate rounds (absent in reports of the single-round format: one round). */
  rateRounds?: number;
  /** Connect rounds (absent in reports from before them: one round). */
  connectRounds?: number;
  drainTimeoutMs: number;
  serviceWorkers: string;
  /** History kept by durable publishes (absent in reports from before the delivery guarantee). */
  retention?: HistoryRetention;
}

/** The first target measured against one baseline: subject value / baseline value. */
export interface Comparison {
  subject: TargetKind;
  baseline: TargetKind;
  /** Connects per server CPU-second (absent in reports of the single-round format). */
  connectsPerCpuSecond?: number | null;
  connectRate: number | null;
  /** Burst deliveries per server CPU-second (absent in reports of the single-round format). */
  burstDeliveriesPerCpuSecond?: number | null;
  burstDeliveredPerSecond: number | null;
  fixedRateP99: number | null;
  /**
   * Fixed-rate p99 from the pair's alternating rounds (`paired-rate.ts`): the median of the rounds'
   * own ratios; absent when the pair was not measured so.
   */
  alternatingP99?: number | null;
  /** Connects per server CPU-second from the pair's alternating connect rounds, the same way. */
  alternatingConnects?: number | null;
  perSocketBytes: number | null;
}

/** One of the service's targets (see docs/benchmarks.md), met or not. */
export interface Goal {
  name: string;
  /** What was measured (a ratio, or bytes for memory). */
  value: number | null;
  /** The bound `value` is held to. */
  threshold: number;
  /** `higher`: value >= threshold; `lower`: value <= threshold. */
  direction: 'higher' | 'lower';
  /** What `value` and `threshold` count. */
  unit: 'ratio' | 'bytes';
  /** null when the run did not measure it (baseline missing). */
  met: boolean | null;
}

/** What `pnpm bench` writes to `docs/bench/latest.json`. */
export interface BenchReport {
  schema: 1;
  generatedAt: string;
  command: string;
  note: string;
  machine: MachineInfo;
  /**
   * 1-minute load average when the run started and ended: above the core count, others were busy
   * too. Each target's own is in its result.
   */
  loadAverage: { start: number; end: number };
  config: ReportConfig;
  results: TargetResult[];
  comparisons: Comparison[];
  goals: Goal[];
  /** What the delivery guarantee costs (absent in reports from before it). */
  history?: HistoryReport;
  /** Alternating rounds of each service setting and its baseline (absent before them). */
  paired?: PairedRateResult[];
  profiles: ProfileSummary[];
}

/** One row of the results table: how to read a metric from a target's result. */
export interface MetricRow {
  label: string;
  better: 'higher' | 'lower' | 'none';
  value(result: TargetResult): number | null;
  format(value: number): string;
}

const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const ms = (value: number): string => value.toFixed(value < 10 ? 2 : 1);
const mib = (value: number): string => (value / 2 ** 20).toFixed(1);
const kib = (value: number): string => (value / 1024).toFixed(2);

/**
 * Sockets opened per second of server CPU: the median of the connect rounds' own, or, in reports
 * from before the rounds, the one connect's; null when no CPU registered.
 */
export function connectsPerCpuSecond(result: TargetResult): number | null {
  const connect = result.connect;
  if (connect.perCpuSecond !== undefined) return connect.perCpuSecond;
  return connect.cpuSeconds > 0 ? connect.opened / connect.cpuSeconds : null;
}

/**
 * Burst deliveries per second of server CPU: the median of the measured rounds' own figures, or,
 * in reports of the single-round format, the delivered/s-median round's.
 */
export function burstDeliveriesPerCpuSecond(result: TargetResult): number | null {
  const burst = result.burst;
  if (!burst) return null;
  if (burst.deliveriesPerCpuSecond !== undefined) return burst.deliveriesPerCpuSecond;
  return burst.cpuSeconds > 0 ? burst.delivered / burst.cpuSeconds : null;
}

/**
 * The rows every table (console, docs) shows, in order. In each group the per-CPU-second figure
 * comes first: on a shared machine it moves less than the wall-clock rate next to it.
 */
export const metricRows: readonly MetricRow[] = [
  { label: 'sockets open', better: 'higher', value: (r) => r.connect.opened, format: int },
  {
    label: 'connects per server CPU-second',
    better: 'higher',
    value: connectsPerCpuSecond,
    format: int,
  },
  {
    label: 'connect rate (sockets/s)',
    better: 'higher',
    value: (r) => r.connect.perSecond,
    format: int,
  },
  {
    label: 'RSS idle, all sockets (MiB)',
    better: 'lower',
    value: (r) => r.memory.idleRssBytes,
    format: mib,
  },
  {
    label: 'RSS per socket, average (KiB)',
    better: 'lower',
    value: (r) => r.memory.perSocketBytes,
    format: kib,
  },
  {
    label: 'RSS per socket, marginal (KiB)',
    better: 'lower',
    value: (r) => r.memory.marginalPerSocketBytes ?? null,
    format: kib,
  },
  {
    label: 'burst deliveries per server CPU-second',
    better: 'higher',
    value: burstDeliveriesPerCpuSecond,
    format: int,
  },
  {
    label: 'burst delivered/s',
    better: 'higher',
    value: (r) => r.burst?.deliveredPerSecond ?? null,
    format: int,
  },
  { label: 'burst lost', better: 'lower', value: (r) => r.burst?.lost ?? null, format: int },
  {
    label: 'fixed rate p50 (ms)',
    better: 'lower',
    value: (r) => r.fixedRate?.p50Ms ?? null,
    format: ms,
  },
  {
    label: 'fixed rate p99 (ms)',
    better: 'lower',
    value: (r) => r.fixedRate?.p99Ms ?? null,
    format: ms,
  },
  {
    label: 'fixed rate max (ms)',
    better: 'lower',
    value: (r) => r.fixedRate?.maxMs ?? null,
    format: ms,
  },
  {
    label: 'fixed rate lost',
    better: 'lower',
    value: (r) => r.fixedRate?.lost ?? null,
    format: int,
  },
];

function ratio(
  subject: number | null | undefined,
  baseline: number | null | undefined,
): number | null {
  if (subject === null || subject === undefined || baseline === null || baseline === undefined) {
    return null;
  }
  return baseline === 0 ? null : subject / baseline;
}

/** Whether `other` may be a baseline of `subject` at all (see {@link pairedBaselines}). */
function canCompare(subject: TargetKind, other: TargetKind): boolean {
  if (subject === other || (isService(subject) && isService(other))) return false;
  const only = pairedBaselines[other];
  return only === undefined || only === subject;
}

/**
 * The targets the first one is compared with: every other one except another setting of the same
 * server (the service with history on is not a baseline of the service; its own table compares)
 * and a baseline paired with another setting (the relay fed durable publishes).
 */
export function baselinesOf(results: readonly TargetResult[]): TargetResult[] {
  const [subject, ...others] = results;
  if (!subject) return [];
  return others.filter((other) => canCompare(subject.kind, other.kind));
}

/**
 * Every comparison of a run, `[subject, baseline]`: the first target against each of its
 * baselines, then each further setting of the service against its like-for-like baseline when
 * both ran (see {@link settingBaselines}: the service with history on against the relay fed the
 * same durable publishes, the service as shipped against the relay fed plain PUBLISH), once each.
 */
export function comparedPairs(
  results: readonly TargetResult[],
): Array<[TargetResult, TargetResult]> {
  const subject = results[0];
  if (!subject) return [];
  const pairs = baselinesOf(results).map((b): [TargetResult, TargetResult] => [subject, b]);
  for (const setting of results) {
    if (setting === subject) continue;
    const baseline = results.find((r) => r.kind === settingBaselines[setting.kind]);
    if (baseline) pairs.push([setting, baseline]);
  }
  return pairs;
}

/**
 * Compares the first target with each of its baselines, then each paired baseline's setting; a
 * pair measured in alternating rounds (`paired`) gets those p99 and connect ratios too.
 */
export function compare(
  results: readonly TargetResult[],
  paired: readonly PairedRateResult[] = [],
): Comparison[] {
  return comparedPairs(results).map(([subject, baseline]) => ({
    ...alternatingOf(paired, subject.kind, baseline.kind),
    subject: subject.kind,
    baseline: baseline.kind,
    connectsPerCpuSecond: ratio(connectsPerCpuSecond(subject), connectsPerCpuSecond(baseline)),
    connectRate: ratio(subject.connect.perSecond, baseline.connect.perSecond),
    burstDeliveriesPerCpuSecond: ratio(
      burstDeliveriesPerCpuSecond(subject),
      burstDeliveriesPerCpuSecond(baseline),
    ),
    burstDeliveredPerSecond: ratio(
      subject.burst?.deliveredPerSecond,
      baseline.burst?.deliveredPerSecond,
    ),
    fixedRateP99: ratio(subject.fixedRate?.p99Ms, baseline.fixedRate?.p99Ms),
    perSocketBytes: ratio(subject.memory.perSocketBytes, baseline.memory.perSocketBytes),
  }));
}

function alternatingOf(
  paired: readonly PairedRateResult[],
  subject: TargetKind,
  baseline: TargetKind,
): Pick<Comparison, 'alternatingP99' | 'alternatingConnects'> {
  const found = paired.find((p) => p.subject === subject && p.baseline === baseline);
  return found ? { alternatingP99: found.p99Ratio, alternatingConnects: found.connectRatio } : {};
}

function goal(
  name: string,
  value: number | null,
  threshold: number,
  direction: 'higher' | 'lower',
  unit: Goal['unit'] = 'ratio',
): Goal {
  const met =
    value === null ? null : direction === 'higher' ? value >= threshold : value <= threshold;
  return { name, value, threshold, direction, unit, met };
}

/** A goal's measured value for people: `1.23x` or `3.10 KiB`. */
export function formatGoalValue(g: Goal): string {
  if (g.value === null) return '-';
  return g.unit === 'bytes' ? `${(g.value / 1024).toFixed(2)} KiB` : formatRatio(g.value);
}

/** The comparison of `subject` with `baseline` in a run, if both ran and were compared. */
function comparisonOf(
  comparisons: readonly Comparison[],
  subject: TargetKind,
  baseline: TargetKind,
): Comparison | undefined {
  return comparisons.find((c) => c.subject === subject && c.baseline === baseline);
}

/**
 * Issue 11's targets for the service at-most-once (history off), each a ratio against a baseline
 * of the same run (or bytes for memory); empty when the service was not the first target.
 */
function serviceGoals(
  results: readonly TargetResult[],
  comparisons: readonly Comparison[],
): Goal[] {
  const service = results[0];
  if (service?.kind !== 'service') return [];
  const relay = comparisonOf(comparisons, 'service', 'relay');
  const socketio = comparisonOf(comparisons, 'service', 'socketio');
  const burstPerCpu = relay?.burstDeliveriesPerCpuSecond ?? null;
  return [
    goal(
      'burst deliveries per server CPU-second >= 1.0x reference relay',
      burstPerCpu,
      1,
      'higher',
    ),
    goal(
      'burst deliveries per server CPU-second >= 1.3x reference relay (stretch)',
      burstPerCpu,
      1.3,
      'higher',
    ),
    goal(
      'connects per server CPU-second >= 1.0x reference relay',
      relay?.connectsPerCpuSecond ?? null,
      1,
      'higher',
    ),
    goal('fixed-rate p99 <= 1.0x reference relay', relay?.fixedRateP99 ?? null, 1, 'lower'),
    goal(
      'burst delivered/s >= 2.5x Socket.IO',
      socketio?.burstDeliveredPerSecond ?? null,
      2.5,
      'higher',
    ),
    goal(
      `RSS per idle socket <= 4 KiB (at ${service.connect.opened} sockets)`,
      service.memory.perSocketBytes,
      4096,
      'lower',
      'bytes',
    ),
  ];
}

/**
 * The targets of a further service setting (`setting`) against its like-for-like baseline, both
 * fed the same publishes: burst deliveries and connects per server CPU-second >= 1.0x, fixed-rate
 * p99 <= 1.2x, RSS per idle socket <= 4 KiB; each named `<label>: <metric> reference relay,
 * <publishes>`. Empty when the setting did not run; the ratios unmeasured when its baseline did
 * not. The connects and the p99 are the alternating rounds' when the pair had them: one target
 * after the other, minutes apart, the machine's drifting load moves either by more than such a
 * bound.
 */
function settingGoals(
  results: readonly TargetResult[],
  comparisons: readonly Comparison[],
  setting: TargetKind,
  label: string,
  publishes: string,
): Goal[] {
  const result = results.find((r) => r.kind === setting);
  if (!result) return [];
  const baseline = settingBaselines[setting]!;
  const comparison = comparisonOf(comparisons, setting, baseline);
  const name = (metric: string): string => `${label}: ${metric} reference relay, ${publishes}`;
  /** A ratio goal read from the alternating rounds when they ran, else from the sequential ones. */
  const either = (
    metric: string,
    bound: string,
    sequential: number | null | undefined,
    alternating: number | null | undefined,
    threshold: number,
    direction: Goal['direction'],
  ): Goal =>
    alternating === undefined
      ? goal(name(`${metric} ${bound}`), sequential ?? null, threshold, direction)
      : goal(name(`${metric}, alternating rounds, ${bound}`), alternating, threshold, direction);
  return [
    goal(
      name('burst deliveries per server CPU-second >= 1.0x'),
      comparison?.burstDeliveriesPerCpuSecond ?? null,
      1,
      'higher',
    ),
    either(
      'connects per server CPU-second',
      '>= 1.0x',
      comparison?.connectsPerCpuSecond,
      comparison?.alternatingConnects,
      1,
      'higher',
    ),
    either(
      'fixed-rate p99',
      '<= 1.2x',
      comparison?.fixedRateP99,
      comparison?.alternatingP99,
      1.2,
      'lower',
    ),
    goal(
      `${label}: RSS per idle socket <= 4 KiB (at ${result.connect.opened} sockets)`,
      result.memory.perSocketBytes,
      4096,
      'lower',
      'bytes',
    ),
  ];
}

/**
 * The service's targets (docs/benchmarks.md): the service's own when it was the first target, then
 * the service with history on and the service as shipped against their like-for-like baselines
 * when they ran.
 */
export function evaluateGoals(
  results: readonly TargetResult[],
  comparisons: readonly Comparison[],
): Goal[] {
  return [
    ...serviceGoals(results, comparisons),
    // Issue 11's targets "with every feature on", held to issue 23's bounds.
    ...settingGoals(
      results,
      comparisons,
      'service-history',
      'service, history on',
      'durable publishes',
    ),
    ...settingGoals(
      results,
      comparisons,
      'service-default',
      'service, shipped defaults',
      'plain publishes',
    ),
  ];
}

/** The rows at least one result has a value for (older reports lack newer metrics). */
function rowsWithData(results: readonly TargetResult[]): MetricRow[] {
  return metricRows.filter((row) => results.some((r) => row.value(r) !== null));
}

/** `met`, `MISSED`, or `?` when not measured. */
export function goalMark(g: Goal): string {
  return g.met === null ? '?' : g.met ? 'met' : 'MISSED';
}

function pad(text: string, width: number, left = false): string {
  return left ? text.padEnd(width) : text.padStart(width);
}

/** Formats a ratio like `1.23x`, or `-` when unknown. */
export function formatRatio(value: number | null): string {
  return value === null ? '-' : `${value.toFixed(2)}x`;
}

/**
 * The header and rows every results table shows: each target's value, then the ratio of each
 * compared pair (the first target to each of its baselines, then the paired ones; `joiner`
 * separates the two names in a ratio heading).
 */
function tableCells(
  results: readonly TargetResult[],
  joiner: string,
): { header: string[]; rows: string[][] } {
  const pairs = comparedPairs(results);
  const header = [
    'metric',
    ...results.map((r) => r.label),
    ...pairs.map(([subject, baseline]) => `${subject.kind}${joiner}${baseline.kind}`),
  ];
  const rows = rowsWithData(results).map((row) => [
    row.label,
    ...results.map((r) => row.value(r)).map((v) => (v === null ? '-' : row.format(v))),
    ...pairs.map(([subject, baseline]) =>
      formatRatio(ratio(row.value(subject), row.value(baseline))),
    ),
  ]);
  return { header, rows };
}

/** The results as a plain-text table with ratio columns, for the terminal. */
export function consoleTable(report: BenchReport): string {
  const { header, rows } = tableCells(report.results, '/');
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => pad(cell, widths[i] ?? 0, i === 0)).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  if (report.goals.length > 0) {
    out.push('', 'targets:');
    for (const g of report.goals) {
      out.push(`  [${goalMark(g)}] ${g.name}: ${formatGoalValue(g)}`);
    }
  }
  return out.join('\n');
}

/** The results as a markdown table (for docs/benchmarks.md). */
export function markdownTable(report: BenchReport): string {
  const { header, rows } = tableCells(report.results, ' / ');
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
}
