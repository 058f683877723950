import type { Redis } from 'ioredis';
import type { BenchConfig } from './config.js';
import { type HistoryMemory, measureHistoryMemory } from './history-memory.js';
import type { HistoryRetention } from './publish-script.js';
import { measurePublishThroughput, type PublishThroughput } from './publish-throughput.js';
import { burstDeliveriesPerCpuSecond } from './report.js';
import type { TargetResult } from './scenario.js';

/**
 * What the delivery guarantee costs, measured in the same `pnpm bench` run as everything else:
 * publishing with history against plain PUBLISH, Redis memory per user, and the service's
 * delivery CPU with history on against off.
 */

/** The service's burst with history off (plain PUBLISH) and on (durable publish), same run. */
export interface HistoryDeliveryCost {
  offPerCpuSecond: number;
  onPerCpuSecond: number;
  /** on / off. */
  ratio: number;
  offDeliveredPerSecond: number;
  onDeliveredPerSecond: number;
}

/** The `history` part of `docs/bench/latest.json`. */
export interface HistoryReport {
  retention: HistoryRetention;
  publish: PublishThroughput | null;
  memory: HistoryMemory[];
  /** null unless both `service` and `service-history` ran. */
  delivery: HistoryDeliveryCost | null;
}

/**
 * Runs the two measurements that need no server: publish throughput (durable vs plain) and Redis
 * memory per user. Flushes the bench's Redis when done.
 */
export async function measureHistoryCost(
  config: BenchConfig,
  redis: Redis,
  redisUrl: string,
  log: (line: string) => void,
): Promise<Omit<HistoryReport, 'delivery'>> {
  let publish: PublishThroughput | null = null;
  if (config.publishMessages > 0) {
    await redis.flushall();
    const users = Array.from({ length: config.users }, (_, i) => i);
    publish = await measurePublishThroughput(
      redisUrl,
      users,
      config.publishMessages,
      config.publishRounds,
      config.retention,
    );
    log(
      `publish: plain ${Math.round(publish.plainPerSecond)}/s, durable ${Math.round(publish.durablePerSecond)}/s ` +
        `(${publish.ratio.toFixed(2)}x; rounds ${publish.plainRounds.join('/')} vs ${publish.durableRounds.join('/')})`,
    );
  }
  const memory =
    config.memoryEntries.length > 0
      ? await measureHistoryMemory(
          redis,
          redisUrl,
          config.memoryEntries,
          config.memoryUsers,
          config.retention,
        )
      : [];
  for (const m of memory) {
    log(`history memory: ${m.held} entries, ${Math.round(m.bytesPerUser)} bytes per user`);
  }
  await redis.flushall();
  return { retention: config.retention, publish, memory };
}

function perCpuSecond(result: TargetResult | undefined): number | null {
  return result ? burstDeliveriesPerCpuSecond(result) : null;
}

/** The service's delivery cost with history on vs off, when both variants ran. */
export function historyDeliveryCost(results: readonly TargetResult[]): HistoryDeliveryCost | null {
  const off = results.find((r) => r.kind === 'service');
  const on = results.find((r) => r.kind === 'service-history');
  const offPerCpuSecond = perCpuSecond(off);
  const onPerCpuSecond = perCpuSecond(on);
  if (offPerCpuSecond === null || onPerCpuSecond === null) return null;
  return {
    offPerCpuSecond,
    onPerCpuSecond,
    ratio: onPerCpuSecond / offPerCpuSecond,
    offDeliveredPerSecond: off?.burst?.deliveredPerSecond ?? 0,
    onDeliveredPerSecond: on?.burst?.deliveredPerSecond ?? 0,
  };
}

const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const ratio = (value: number): string => `${value.toFixed(2)}x`;

/** Rows `[measure, history off, history on, on / off]`. */
function costRows(history: HistoryReport): string[][] {
  const rows: string[][] = [];
  const p = history.publish;
  if (p) {
    rows.push([
      `publish throughput, msg/s (one publisher, pipelines of 1,000, median of ${p.plainRounds.length} rounds of ${int(p.messages)}, no subscriber)`,
      `${int(p.plainPerSecond)} (PUBLISH)`,
      `${int(p.durablePerSecond)} (EVALSHA publish.lua)`,
      ratio(p.ratio),
    ]);
    if (p.plainRedisCpuUs > 0) {
      rows.push([
        'Redis CPU per message, µs (same rounds)',
        p.plainRedisCpuUs.toFixed(1),
        p.durableRedisCpuUs.toFixed(1),
        ratio(p.durableRedisCpuUs / p.plainRedisCpuUs),
      ]);
    }
  }
  const d = history.delivery;
  if (d) {
    rows.push(
      [
        'service: burst deliveries per server CPU-second',
        int(d.offPerCpuSecond),
        int(d.onPerCpuSecond),
        ratio(d.ratio),
      ],
      [
        'service: burst delivered/s',
        int(d.offDeliveredPerSecond),
        int(d.onDeliveredPerSecond),
        ratio(d.onDeliveredPerSecond / d.offDeliveredPerSecond),
      ],
    );
  }
  return rows;
}

/** Rows `[messages published per user, entries held, bytes per user, bytes per entry]`. */
function memoryRows(history: HistoryReport): string[][] {
  return history.memory.map((m) => [
    int(m.entries),
    int(m.held),
    `${int(m.bytesPerUser)} (${kib(m.bytesPerUser)})`,
    int(m.bytesPerUser / Math.max(m.held, 1)),
  ]);
}

/**
 * Bytes one more history entry costs, from the smallest and largest measured histories that were
 * never trimmed (a trimmed stream also holds deleted entries until their whole node goes).
 */
export function marginalEntryBytes(memory: readonly HistoryMemory[]): number | null {
  const sorted = memory.filter((m) => m.held === m.entries).sort((a, b) => a.held - b.held);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (!first || !last || last.held === first.held) return null;
  return (last.bytesPerUser - first.bytesPerUser) / (last.held - first.held);
}

function retentionLine(history: HistoryReport): string {
  const r = history.retention;
  const m = history.memory[0];
  const marginal = marginalEntryBytes(history.memory);
  return (
    `Retention: ${int(r.length)} entries, TTL ${int(r.ttlSeconds)} s. ` +
    (m
      ? `One stored message (the bench notification with its position and epoch): ${int(m.messageBytes)} bytes`
      : '') +
    (marginal === null ? '.' : `; each further entry costs about ${int(marginal)} bytes.`)
  );
}

/** The history figures as markdown tables (for docs/benchmarks.md); '' when none were measured. */
export function historyMarkdown(history: HistoryReport | undefined): string {
  if (!history) return '';
  const lines: string[] = [];
  const cost = costRows(history);
  if (cost.length > 0) {
    lines.push(
      '| delivery guarantee, same run | history off | history on | on / off |',
      '| --- | ---: | ---: | ---: |',
      ...cost.map((row) => `| ${row.join(' | ')} |`),
    );
  }
  const memory = memoryRows(history);
  if (memory.length > 0) {
    if (lines.length > 0) lines.push('');
    lines.push(
      `| messages published per user | entries held | Redis memory per user, bytes (\`MEMORY USAGE\` stream + meta) | bytes per entry |`,
      '| ---: | ---: | ---: | ---: |',
      ...memory.map((row) => `| ${row.join(' | ')} |`),
      '',
      retentionLine(history),
    );
  }
  return lines.join('\n');
}

/** The history figures as plain text, for the terminal; '' when none were measured. */
export function historyConsole(history: HistoryReport | undefined): string {
  if (!history) return '';
  const lines: string[] = [];
  for (const [measure, off, on, onOff] of costRows(history)) {
    lines.push(`  ${measure}: off ${off}, on ${on}, on/off ${onOff}`);
  }
  for (const [entries, held, bytes, perEntry] of memoryRows(history)) {
    lines.push(
      `  history memory after ${entries} messages: ${held} entries, ${bytes} per user, ${perEntry} bytes per entry`,
    );
  }
  if (lines.length === 0) return '';
  if (history.memory.length > 0) lines.push(`  ${retentionLine(history)}`);
  return ['delivery guarantee (history):', ...lines].join('\n');
}
