import { readFileSync, writeFileSync } from 'node:fs';
import { BenchError } from './errors.js';
import { historyMarkdown } from './history-cost.js';
import type { PairedRateResult } from './paired-rate.js';
import {
  type BenchReport,
  formatGoalValue,
  goalMark,
  markdownTable,
  type ReportConfig,
} from './report.js';
import type { LoadAverage, TargetResult } from './scenario.js';
import type { Bench100kReport } from './storm.js';
import { stormCommandsText } from './storm-commands.js';

function markers(name: string): { start: string; end: string } {
  return { start: `<!-- bench:${name}:start -->`, end: `<!-- bench:${name}:end -->` };
}

/**
 * Replaces what lies between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->`,
 * keeping the markers, so a doc's prose around its generated part is never touched.
 */
export function replaceMarkedSection(text: string, name: string, content: string): string {
  const { start, end } = markers(name);
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    throw new BenchError('docs_marker_missing', `markers ${start} ... ${end} not found`);
  }
  return `${text.slice(0, from + start.length)}\n${content.trim()}\n${text.slice(to)}`;
}

/** Rewrites one marked section of a markdown file in place. */
export function updateMarkedFile(path: string, name: string, content: string): void {
  const text = readFileSync(path, 'utf8');
  let updated: string;
  try {
    updated = replaceMarkedSection(text, name, content);
  } catch (error) {
    if (error instanceof BenchError) throw new BenchError(error.code, `${path}: ${error.message}`);
    throw error;
  }
  writeFileSync(path, updated);
}

/** How busy the machine was: above the core count, other work competed with the run. */
function loadLine(load: LoadAverage, cores: number): string {
  return `1-minute load average: ${load.start.toFixed(1)} at the start, ${load.end.toFixed(1)} at the end (${cores} cores).`;
}

/** Each target's own load average, start -> end ('' for reports from before they were kept). */
function targetLoadLine(results: readonly TargetResult[]): string {
  const measured = results.flatMap((r) =>
    r.loadAverage
      ? [`${r.label} ${r.loadAverage.start.toFixed(1)} -> ${r.loadAverage.end.toFixed(1)}`]
      : [],
  );
  return measured.length > 0 ? `Per target, start -> end: ${measured.join('; ')}.` : '';
}

/** What one run did: sockets, clients, burst and fixed-rate rounds. */
function loadDescription(c: ReportConfig): string {
  const n = (value: number): string => value.toLocaleString('en-US');
  // Reports of the single-round format have no rateRounds: no warm-up burst, one fixed-rate round.
  const steady = c.rateRounds !== undefined;
  const burst = `burst of ${n(c.burst)} messages (${n(c.burst * c.tabs)} deliveries), median of ${c.burstRounds} rounds${steady ? ' after one warm-up round' : ''}`;
  const fixed = `fixed rate ${n(c.rate)} msg/s for ${c.durationMs / 1000} s${steady ? ` x ${c.rateRounds} rounds, latency of the median round by p99` : ''}`;
  // Reports from before the connect rounds have no connectRounds: one connect.
  const connect =
    c.connectRounds === undefined
      ? ''
      : `; every socket opened in ${c.connectRounds} connect round(s), connect figures the medians of the rounds'`;
  return `Load: ${n(c.sockets)} sockets (${n(c.users)} users x ${c.tabs} tabs) from ${c.processes} load-generator processes over ${c.sourceAddresses.length} source address(es)${connect}; ${burst}; ${fixed}.`;
}

/** Every round's figure per target, so the spread behind each median shows ('' when unknown). */
function roundsTable(results: readonly TargetResult[]): string {
  const join = (values: ReadonlyArray<number | null> | undefined, format: (v: number) => string) =>
    values && values.length > 0
      ? values.map((v) => (v === null ? '-' : format(v))).join(' / ')
      : '-';
  const int = (v: number): string => Math.round(v).toLocaleString('en-US');
  const rows = results
    .filter((r) => r.connect.rounds || r.burst?.cpuRounds || r.fixedRate?.roundsP99Ms)
    .map((r) => {
      const warmup = r.burst?.warmupDeliveredPerSecond;
      const connects = r.connect.rounds?.map((round) => round.perCpuSecond);
      return `| ${r.label} | ${join(connects, int)} | ${join(r.burst?.cpuRounds, int)} | ${join(r.burst?.rounds, int)} | ${warmup == null ? '-' : int(warmup)} | ${join(r.fixedRate?.roundsP99Ms, (v) => v.toFixed(v < 10 ? 2 : 1))} |`;
    });
  if (rows.length === 0) return '';
  return [
    '| rounds | connects per server CPU-second | burst deliveries per server CPU-second | burst delivered/s | warm-up burst delivered/s (not counted) | fixed-rate p99 (ms) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

/** The generated part of docs/benchmarks.md: machine, command, table, targets, chart. */
export function renderLatestSection(report: BenchReport, chartPath: string): string {
  const m = report.machine;
  const c = report.config;
  const lines = [
    `Measured ${report.generatedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.cpuModel} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.kernel}, Node ${m.node}, Redis ${m.redis}.`,
    '',
    `Command: \`${report.command}\``,
    '',
    loadDescription(c),
  ];
  if (report.loadAverage) {
    const perTarget = targetLoadLine(report.results);
    lines.push('', `${loadLine(report.loadAverage, m.cores)}${perTarget ? ` ${perTarget}` : ''}`);
  }
  if (report.note) lines.push('', `Note: ${report.note}`);
  lines.push('', markdownTable(report));
  if (report.goals.length > 0) {
    lines.push('', '| target | measured | |', '| --- | ---: | --- |');
    for (const g of report.goals)
      lines.push(`| ${g.name} | ${formatGoalValue(g)} | ${goalMark(g)} |`);
  }
  const rounds = roundsTable(report.results);
  if (rounds) lines.push('', rounds);
  const paired = pairedTable(report.paired ?? []);
  if (paired) lines.push('', paired);
  const history = historyMarkdown(report.history);
  if (history) lines.push('', history);
  lines.push('', `![benchmark chart](${chartPath})`);
  return lines.join('\n');
}

/**
 * The alternating rounds: each pair's p99 and connects per server CPU-second per round, side by
 * side, and the medians of the rounds' ratios; '' when there were none.
 */
function pairedTable(paired: readonly PairedRateResult[]): string {
  if (paired.length === 0) return '';
  const p99 = (v: number): string => v.toFixed(v < 10 ? 2 : 1);
  const ratio = (v: number | null | undefined): string => (v == null ? '-' : `${v.toFixed(2)}x`);
  const count = (v: number | null | undefined): string =>
    v == null ? '-' : Math.round(v).toLocaleString('en-US');
  const first = paired[0]!;
  const lines = [
    `Alternating rounds: each service setting and its baseline running at once, each on its own Redis, taking turns (the order rotating): fixed-rate rounds at ${first.rate.toLocaleString('en-US')} msg/s for ${first.durationMs / 1000} s, then as many connect rounds (every socket closed and opened again); a round's two figures were measured seconds apart, under the same background load.`,
    '',
    "| setting / baseline | p99 per round, ms (setting / baseline) | p99, median of the rounds' ratios | connects per server CPU-second per round (setting / baseline) | connects, median of the rounds' ratios |",
    '| --- | --- | ---: | --- | ---: |',
  ];
  for (const pair of paired) {
    const rounds = pair.subjectP99Ms
      .map((s, n) => `${p99(s)} / ${p99(pair.baselineP99Ms[n] ?? 0)}`)
      .join(', ');
    // Reports from before the connect rounds have none.
    const connects = (pair.subjectConnectsPerCpuSecond ?? [])
      .map((s, n) => `${count(s)} / ${count(pair.baselineConnectsPerCpuSecond?.[n])}`)
      .join(', ');
    lines.push(
      `| ${pair.subject} / ${pair.baseline} | ${rounds} | ${ratio(pair.p99Ratio)} | ${connects || '-'} | ${ratio(pair.connectRatio)} |`,
    );
  }
  return lines.join('\n');
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The generated part of docs/benchmarks.md for `pnpm bench:100k`. */
export function render100kSection(report: Bench100kReport): string {
  const m = report.machine;
  const c = report.config;
  const d = report.delivery;
  const rows: Array<[string, string]> = [
    [
      'sockets open',
      `${report.connect.opened.toLocaleString('en-US')} / ${c.sockets.toLocaleString('en-US')}`,
    ],
    [
      'time to connect all',
      `${seconds(report.connect.durationMs)} (${Math.round(report.connect.perSecond).toLocaleString('en-US')} sockets/s)`,
    ],
    [
      'service RSS, all processes',
      `${mib(report.memory.idleRssBytes)} over ${report.memory.processes} processes`,
    ],
    ['RSS per socket', `${(report.memory.perSocketBytes / 1024).toFixed(2)} KiB`],
    [
      'one notification per user: delivered',
      `${d.delivered.toLocaleString('en-US')} / ${d.expected.toLocaleString('en-US')} (lost ${d.lost})`,
    ],
    [
      'time to deliver all',
      `${seconds(d.durationMs)} (p50 ${d.p50Ms.toFixed(1)} ms, p99 ${d.p99Ms.toFixed(1)} ms)`,
    ],
  ];
  const s = report.storm;
  if (s) {
    rows.push(
      [
        'reconnect storm: server down by',
        `${s.signal}, gone in ${seconds(s.stopMs)}, ready again ${seconds(s.restartMs)} later`,
      ],
      [
        'time until all sockets are back',
        `${seconds(s.allBackMs)} (${(s.back ?? s.open).toLocaleString('en-US')} reopened, ${s.open.toLocaleString('en-US')} open, ${s.reconnectFailures.toLocaleString('en-US')} failed tries)`,
      ],
    );
    if (s.allSyncedMs !== undefined && s.synced !== undefined) {
      rows.push([
        'time until all sockets are synced (ws.synced or ws.resync after reconnecting)',
        `${seconds(s.allSyncedMs)} (${s.synced.toLocaleString('en-US')} synced)`,
      ]);
    }
    if (s.redisCommands)
      rows.push(['Redis commands during the storm', stormCommandsText(s.redisCommands)]);
    const tally = (counts: Record<string, number> | undefined): string =>
      Object.entries(counts ?? {})
        .sort((a, b) => b[1] - a[1])
        .map(([reason, count]) => `${reason} ${count.toLocaleString('en-US')}`)
        .join(', ') || 'none';
    rows.push(
      ['storm: closes the clients saw', tally(s.closes)],
      ['storm: failed reconnect tries by reason', tally(s.reconnectFailureReasons)],
    );
    const p = s.publishing;
    if (p) {
      const n = (value: number): string => value.toLocaleString('en-US');
      rows.push(
        [
          'storm: a publisher kept sending',
          `${n(p.rate)} msg/s from before the signal until all were back: ${n(p.published)} notifications, ${n(p.expected)} deliveries due`,
        ],
        [
          p.byPosition
            ? 'storm: delivered, each position once per socket'
            : 'storm: delivered (counted, no positions)',
          `${n(p.delivered)} / ${n(p.expected)}: lost ${n(p.lost)}${p.byPosition ? ` (${n(p.resynced)} announced by ws.resync, ${n(p.lost - p.resynced)} silent)` : ''}, duplicates ${p.byPosition ? n(p.duplicates) : 'not counted'}${p.byPosition ? `, sockets behind at the end ${n(p.socketsBehind)}` : ''}; last one ${seconds(p.drainMs)} after the publisher stopped`,
        ],
      );
      if (p.byPosition) {
        rows.push([
          'storm: resumes',
          `${n(p.synced)} ws.synced, ${n(p.replayed)} messages replayed; ws.resync: ${tally(p.resyncs)}`,
        ]);
      }
    }
    if (s.afterStorm) {
      rows.push([
        'after the storm: delivered',
        `${s.afterStorm.delivered.toLocaleString('en-US')} / ${s.afterStorm.expected.toLocaleString('en-US')} in ${seconds(s.afterStorm.durationMs)}`,
      ]);
    }
  }
  const lines = [
    `Measured ${report.generatedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.cpuModel} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, Redis ${m.redis}.`,
    '',
    `Command: \`${report.command}\` (${c.target === 'service' ? `service with WEBSOCKET_WORKERS=${c.serviceWorkers}${c.history ? ` and WEBSOCKET_HISTORY=${c.history}` : ''}` : c.target}; ${c.history === 'on' ? 'every notification published with the durable publish script; ' : ''}${c.processes} load-generator processes over ${c.sourceAddresses.join(', ')}).`,
  ];
  if (report.loadAverage) lines.push('', loadLine(report.loadAverage, m.cores));
  if (report.note) lines.push('', `Note: ${report.note}`);
  lines.push(
    '',
    '| measure | result |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
  );
  return lines.join('\n');
}
