import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { type RedisHandle, startRedis } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { renderChart } from './chart.js';
import { addressesForTarget, type BenchConfig } from './config.js';
import { renderLatestSection, updateMarkedFile } from './docs.js';
import { historyDeliveryCost, measureHistoryCost } from './history-cost.js';
import { describeMachine, type MachineInfo, oneMinuteLoad } from './machine.js';
import { type ProfileSummary, summarizeProfiles } from './profile.js';
import { type BenchReport, compare, evaluateGoals } from './report.js';
import { benchTarget, type TargetResult } from './scenario.js';

/** Options of {@link runBench}. */
export interface RunBenchOptions {
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** The command line recorded in the report. */
  command?: string;
  /** A remark recorded in the report (for example: the machine was shared). */
  note?: string;
}

/**
 * Runs the whole comparison: one fresh Redis, then each target in turn with the same client
 * load, and returns the report. Every process it starts is stopped before it returns or throws.
 */
export async function runBench(
  config: BenchConfig,
  options: RunBenchOptions = {},
): Promise<BenchReport> {
  const log = options.log ?? (() => undefined);
  const loadAtStart = oneMinuteLoad();
  return withBenchRedis(async ({ redisServer, redis, machine }) => {
    const results: TargetResult[] = [];
    const profiles: ProfileSummary[] = [];
    for (const [index, kind] of config.targets.entries()) {
      const profileDir = index === 0 && config.profileDir ? config.profileDir : undefined;
      const since = Date.now();
      await redis.flushall(); // every target starts with no history in Redis
      const loadAtTargetStart = oneMinuteLoad();
      const measured = await benchTarget(
        kind,
        config,
        { redisUrl: redisServer.url, redis, log },
        {
          ...(profileDir ? { profileDir } : {}),
          sourceAddresses: addressesForTarget(config, index),
          roundAddresses: Array.from({ length: config.connectRounds - 1 }, (_, round) =>
            addressesForTarget(config, index, round + 2),
          ),
        },
      );
      const loadAverage = { start: loadAtTargetStart, end: oneMinuteLoad() };
      const result: TargetResult = { ...measured, loadAverage };
      log(
        `${result.label}: 1-minute load average ${loadAverage.start.toFixed(1)} -> ${loadAverage.end.toFixed(1)}`,
      );
      results.push(result);
      if (profileDir) profiles.push(...summarizeProfiles(profileDir, result.windows, since));
    }
    // After the targets, not before: the publish-throughput rounds fill Redis with many stream
    // entries, and freeing them slows whatever Redis serves next, which would penalise the first
    // target. It flushes Redis before each of its measurements itself.
    const history = await measureHistoryCost(config, redis, redisServer.url, log);
    const comparisons = compare(results);
    return {
      schema: 1,
      generatedAt: new Date().toISOString(),
      command: options.command ?? 'pnpm bench',
      note: options.note ?? '',
      machine,
      loadAverage: { start: loadAtStart, end: oneMinuteLoad() },
      config: {
        users: config.users,
        tabs: config.tabs,
        sockets: config.users * config.tabs,
        processes: config.processes,
        sourceAddresses: config.sourceAddresses,
        concurrency: config.concurrency,
        burst: config.burst,
        burstRounds: config.burstRounds,
        rate: config.rate,
        durationMs: config.durationMs,
        rateRounds: config.rateRounds,
        connectRounds: config.connectRounds,
        drainTimeoutMs: config.drainTimeoutMs,
        serviceWorkers: config.serviceWorkers,
        retention: config.retention,
      },
      results,
      comparisons,
      goals: evaluateGoals(results, comparisons),
      history: { ...history, delivery: historyDeliveryCost(results) },
      profiles,
    };
  });
}

/** The Redis every mode's run uses, and the machine it runs on. */
export interface BenchRedis {
  readonly redisServer: RedisHandle;
  /** A client of it for the bench's own commands. */
  readonly redis: Redis;
  readonly machine: MachineInfo;
}

/**
 * Runs `run` against one fresh `redis-server` (no persistence) set up for the bench, then stops
 * it, also when `run` throws. A server that falls behind in a burst must not be cut off by
 * Redis's default 32 MB pub/sub output-buffer limit (the bench measures servers, not that
 * setting), so the limit is raised.
 */
export async function withBenchRedis<T>(run: (bench: BenchRedis) => Promise<T>): Promise<T> {
  const redisServer = await startRedis();
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  try {
    await redis.config('SET', 'client-output-buffer-limit', 'pubsub 512mb 256mb 120');
    return await run({ redisServer, redis, machine: await describeMachine(redis) });
  } finally {
    redis.disconnect();
    await redisServer.stop();
  }
}

/** Where {@link writeReport} put things. */
export interface WrittenReport {
  json: string;
  svg: string;
  docs?: string;
}

/**
 * Writes `latest.json` and `latest.svg` into `outDir` and, when `docsFile` is given, rewrites its
 * `bench:latest` section from the same report.
 */
export function writeReport(report: BenchReport, outDir: string, docsFile: string): WrittenReport {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, 'latest.json');
  const svg = join(outDir, 'latest.svg');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(svg, renderChart(report));
  if (!docsFile) return { json, svg };
  updateMarkedFile(
    docsFile,
    'latest',
    renderLatestSection(report, relative(dirname(docsFile), svg)),
  );
  return { json, svg, docs: docsFile };
}
