import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveChildren } from '../src/children.js';
import {
  type BenchReport,
  parseBenchConfig,
  runBench,
  type TargetKind,
  targetKinds,
  writeReport,
} from '../src/index.js';

// The whole pipeline at tiny scale, so CI proves `pnpm bench` still works, against every target:
// the service (history off, and history on with durable publishes, with the relay fed the same
// publishes as its baseline), the service as shipped (history on) fed plain PUBLISH, and both
// baselines. An unbuilt service fails the test (pnpm build first).
const targets: TargetKind[] = [...targetKinds];
const out = mkdtempSync(join(tmpdir(), 'huleedu-bench-'));

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
});

describe('pnpm bench at tiny scale', () => {
  let report: BenchReport;

  it('measures every target with no loss', { timeout: 240_000 }, async () => {
    const config = parseBenchConfig(
      [
        ...['--targets', targets.join(','), '--users', '25', '--tabs', '2', '--processes', '2'],
        ...['--burst', '500', '--burst-rounds', '3', '--settle', '0.2', '--connect-rounds', '2'],
        ...['--rate', '500', '--duration', '1', '--rate-rounds', '2'],
        ...['--paired-rounds', '2', '--paired-duration', '1'],
        ...['--drain-timeout', '30', '--out', out, '--docs', ''],
        ...['--publish-messages', '500', '--publish-rounds', '3'],
        ...['--memory-entries', '10,100', '--memory-users', '5'],
      ],
      {},
    );
    report = await runBench(config, { command: 'pnpm bench (smoke test)' });

    expect(report.results.map((r) => r.kind)).toEqual(targets);
    for (const result of report.results) {
      expect(result.connect.opened, result.label).toBe(50);
      expect(result.connect.failed, result.label).toBe(0);
      // Every socket closed and opened again after the fixed rate, none failing.
      expect(
        result.connect.rounds!.map((r) => [r.opened, r.failed]),
        result.label,
      ).toEqual([
        [50, 0],
        [50, 0],
      ]);
      expect(result.readiness.ready, result.label).toBe(true);
      expect(result.burst, result.label).toMatchObject({
        published: 500,
        expected: 1000,
        delivered: 1000,
        lost: 0,
      });
      // Two fixed-rate rounds: the counts are both rounds', the latency one round's.
      expect(result.fixedRate, result.label).toMatchObject({
        published: 1000,
        expected: 2000,
        delivered: 2000,
        lost: 0,
      });
      expect(result.fixedRate!.roundsP99Ms, result.label).toHaveLength(2);
      expect(result.fixedRate!.roundsP99Ms).toContain(result.fixedRate!.p99Ms);
      // Three measured bursts after a warm-up that is kept but not among them.
      expect(result.burst!.rounds, result.label).toHaveLength(3);
      expect(result.burst!.cpuRounds, result.label).toHaveLength(3);
      expect(result.burst!.rounds).toContain(Math.round(result.burst!.deliveredPerSecond));
      expect(result.burst!.warmupDeliveredPerSecond).toBeGreaterThan(0);
      expect(result.burst!.lostAllRounds, result.label).toBe(0);
      expect(result.loadAverage!.start, result.label).toBeGreaterThanOrEqual(0);
      expect(result.lost, result.label).toBe(0);
      expect(result.burst!.deliveredPerSecond).toBeGreaterThan(0);
      expect(result.fixedRate!.p99Ms).toBeGreaterThan(0);
      expect(result.fixedRate!.maxMs).toBeGreaterThanOrEqual(result.fixedRate!.p99Ms);
      expect(result.connect.perSecond).toBeGreaterThan(0);
      expect(result.memory.idleRssBytes).toBeGreaterThan(0);
      expect(result.unexpectedCloses, result.label).toEqual({});
      expect(result.burst!.duplicates, result.label).toBe(0);
    }
    // Ratios against the two baselines; the service with history on against the relay fed the
    // same durable publishes, the service as shipped against the relay, each with its own targets.
    expect(report.comparisons.map((c) => `${c.subject}/${c.baseline}`)).toEqual([
      'service/relay',
      'service/socketio',
      'service-history/relay-durable',
      'service-default/relay',
    ]);
    for (const comparison of report.comparisons) {
      expect(comparison.burstDeliveredPerSecond, comparison.baseline).toBeGreaterThan(0);
      expect(comparison.fixedRateP99, comparison.baseline).toBeGreaterThan(0);
    }
    // Each service setting and its baseline again, side by side in alternating rounds, nothing lost.
    expect(report.paired!.map((p) => `${p.subject}/${p.baseline}`)).toEqual([
      'service-history/relay-durable',
      'service-default/relay',
    ]);
    for (const pair of report.paired!) {
      expect(pair.subjectP99Ms, pair.subject).toHaveLength(2);
      expect(pair.baselineP99Ms, pair.baseline).toHaveLength(2);
      expect(pair.lost, pair.subject).toBe(0);
      expect(pair.p99Ratio, pair.subject).toBeGreaterThan(0);
      // As many connect rounds, every socket opening again each time.
      expect(pair.subjectConnectsPerCpuSecond, pair.subject).toHaveLength(2);
      expect(pair.baselineConnectsPerCpuSecond, pair.baseline).toHaveLength(2);
      expect(pair.connectFailures, pair.subject).toBe(0);
      expect(pair.connectRatio, pair.subject).toBeGreaterThan(0);
    }
    expect(report.comparisons.map((c) => c.alternatingConnects !== undefined)).toEqual([
      false,
      false,
      true,
      true,
    ]);
    expect(report.comparisons.map((c) => c.alternatingP99 !== undefined)).toEqual([
      false,
      false,
      true,
      true,
    ]);
    expect(report.goals.length).toBe(14);
    expect(liveChildren()).toBe(0);
  });

  it('measures what the delivery guarantee costs in the same run', () => {
    const history = report.history!;
    expect(history.retention).toEqual({ length: 100, ttlSeconds: 86_400 });
    expect(history.publish!.plainRounds).toHaveLength(3);
    expect(history.publish!.durableRounds).toHaveLength(3);
    expect(history.publish!.durablePerSecond).toBeGreaterThan(0);
    expect(history.publish!.ratio).toBeGreaterThan(0);
    expect(history.publish!.durableRedisCpuUs).toBeGreaterThan(history.publish!.plainRedisCpuUs);
    expect(history.memory.map((m) => [m.entries, m.held, m.users])).toEqual([
      [10, 10, 5],
      [100, 100, 5],
    ]);
    expect(history.memory[1]!.bytesPerUser).toBeGreaterThan(history.memory[0]!.bytesPerUser);
    expect(history.delivery!.onPerCpuSecond).toBeGreaterThan(0);
    expect(history.delivery!.ratio).toBeCloseTo(
      history.delivery!.onPerCpuSecond / history.delivery!.offPerCpuSecond,
    );
  });

  it('writes the JSON, the chart and the docs section from the report', () => {
    const docs = join(out, 'benchmarks.md');
    writeFileSync(
      docs,
      '# Benchmarks\n\nprose\n<!-- bench:latest:start -->\nold\n<!-- bench:latest:end -->\nmore prose\n',
    );
    writeReport(report, out, docs);

    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchReport;
    expect(json.results).toHaveLength(targets.length);
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.config.sockets).toBe(50);

    const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const result of report.results) expect(svg).toContain(result.label);

    const text = readFileSync(docs, 'utf8');
    expect(text).not.toContain('\nold\n');
    expect(text).toContain('prose\n<!-- bench:latest:start -->');
    expect(text).toContain('more prose');
    expect(text).toContain('| burst delivered/s |');
    expect(text).toContain('median of 3 rounds after one warm-up round');
    expect(text).toContain(
      '| rounds | connects per server CPU-second | burst deliveries per server CPU-second |',
    );
    expect(text).toContain(
      '| delivery guarantee, same run | history off | history on | on / off |',
    );
    expect(text).toContain('Redis memory per user, bytes');
    expect(text).toContain('| service-history / relay-durable |');
    expect(text).toContain('![benchmark chart](latest.svg)');
  });
});
