import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { type RedisHandle, startRedis } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { renderChart } from './chart.js';
import { nowMs, sleep } from './clock.js';
import type { Bench100kConfig } from './config.js';
import {
  addressesForPairedSide,
  addressesForTarget,
  alternatingPairs,
  type BenchConfig,
} from './config.js';
import { renderLatestSection, updateMarkedFile } from './docs.js';
import { BenchError } from './errors.js';
import { historyDeliveryCost, measureHistoryCost } from './history-cost.js';
import { type Loadgen, startLoadgen } from './loadgen.js';
import { describeMachine, type MachineInfo, oneMinuteLoad } from './machine.js';
import { type PairedRateResult, runPairedRate } from './paired-rate.js';
import { processTree } from './proc.js';
import { type ProfileSummary, summarizeProfiles } from './profile.js';
import { createPublisher, type Publisher } from './publisher.js';
import { waitForChannelSubscribers } from './readiness.js';
import { allowSlowSubscribers } from './redis-limits.js';
import { type BenchReport, compare, evaluateGoals } from './report.js';
import { benchTarget, publishAndMeasure, type TargetResult } from './scenario.js';
import { type Bench100kReport, stormAndRecover } from './storm.js';
import { type RunningTarget, startTarget } from './targets.js';

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
    const paired = await measurePairedRates(config, log);
    // After the targets, not before: the publish-throughput rounds fill Redis with many stream
    // entries, and freeing them slows whatever Redis serves next, which would penalise the first
    // target. It flushes Redis before each of its measurements itself.
    const history = await measureHistoryCost(config, redis, redisServer.url, log);
    const comparisons = compare(results, paired);
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
      paired,
      profiles,
    };
  });
}

/**
 * Each service setting and its baseline, both among the targets, in alternating fixed-rate and
 * connect rounds side by side (`paired-rate.ts`); empty with `--paired-rounds 0`.
 */
async function measurePairedRates(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<PairedRateResult[]> {
  if (config.pairedRounds === 0 || config.rate === 0) return [];
  const results: PairedRateResult[] = [];
  for (const [index, [subject, baseline]] of alternatingPairs(config.targets).entries()) {
    const result = await runPairedRate(
      subject,
      baseline,
      {
        secret: config.secret,
        users: config.users,
        tabs: config.tabs,
        processes: config.processes,
        sourceAddresses: (side, round) => addressesForPairedSide(config, index, side, round),
        concurrency: config.concurrency,
        connectTimeoutMs: config.connectTimeoutMs,
        maxConnectionsPerUser: Math.max(config.tabs, 5),
        serviceEntry: config.serviceEntry,
        serviceWorkers: config.serviceWorkers,
        retention: config.retention,
        rounds: config.pairedRounds,
        rate: config.rate,
        durationMs: config.pairedDurationMs,
        stallMs: config.drainTimeoutMs,
      },
      log,
    );
    const ratio = (value: number | null) => (value === null ? '-' : `${value.toFixed(2)}x`);
    log(
      `alternating rounds, ${subject} against ${baseline} (medians of the rounds' ratios): p99 ${ratio(result.p99Ratio)}, connects per server CPU-second ${ratio(result.connectRatio)}`,
    );
    results.push(result);
  }
  return results;
}

/** The Redis every mode's run uses, and the machine it runs on. */
export interface BenchRedis {
  readonly redisServer: RedisHandle;
  /** A client of it for the bench's own commands. */
  readonly redis: Redis;
  readonly machine: MachineInfo;
}

/**
 * Runs `run` against one fresh `redis-server` (no persistence) set up for the bench
 * ({@link allowSlowSubscribers}), then stops it, also when `run` throws.
 */
export async function withBenchRedis<T>(run: (bench: BenchRedis) => Promise<T>): Promise<T> {
  const redisServer = await startRedis();
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  try {
    await allowSlowSubscribers(redis);
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

/**
 * Holds `users x tabs` authenticated sockets on one multi-process service, sends every user one
 * notification, then (optionally) drops every socket at once and waits for all to come back.
 */
export async function runBench100k(
  config: Bench100kConfig,
  options: { log?: (line: string) => void; command?: string; note?: string } = {},
): Promise<Bench100kReport> {
  const log = options.log ?? (() => undefined);
  const sockets = config.users * config.tabs;
  const loadAtStart = loadavg()[0] ?? 0;
  return withBenchRedis(async ({ redisServer, redis, machine }) => {
    let target: RunningTarget | undefined;
    let loadgen: Loadgen | undefined;
    let publisher: Publisher | undefined;
    try {
      target = await startTarget(config.target, {
        redisUrl: redisServer.url,
        secret: config.secret,
        maxConnectionsPerUser: Math.max(config.tabs, 5),
        serviceEntry: config.serviceEntry,
        serviceWorkers: config.serviceWorkers,
        history: config.history,
        startTimeoutMs: 60_000,
      });
      await sleep(config.settleMs);
      const baselineRssBytes = target.rssBytes();
      log(
        `server up (${processTree(target.pid()).length} processes); starting ${config.processes} load generators`,
      );
      loadgen = await startLoadgen({
        protocol: 'ws',
        url: target.url,
        secret: config.secret,
        users: config.users,
        tabs: config.tabs,
        processes: config.processes,
        sourceAddresses: config.sourceAddresses,
        spareAddresses: config.spareAddresses,
        concurrency: config.concurrency,
        connectTimeoutMs: config.connectTimeoutMs,
        retry: { attempts: config.connectRetries, baseMs: 500, maxMs: 10_000 },
      });
      log(`connecting ${sockets} sockets`);
      // Like browsers, clients reopen a socket the server closes during start-up (1013 while a
      // worker is not ready yet, for example), so "all connected" means all open at once.
      await loadgen.setReconnect(true, { attempts: 10, baseMs: 1000, maxMs: 10_000 });
      const connectStartedAt = nowMs();
      const progress = setInterval(() => {
        loadgen?.counts().then(
          (c) =>
            log(`${c.open}/${sockets} open after ${Math.round(nowMs() - connectStartedAt)} ms`),
          () => undefined,
        );
      }, 15_000);
      const firstPass = await loadgen.connect().finally(() => clearInterval(progress));
      let counts = await loadgen.counts();
      for (let idle = 0; counts.open < sockets && idle < 20; ) {
        await sleep(250);
        const next = await loadgen.counts();
        idle = next.open > counts.open ? 0 : idle + 1; // gives up after 5 s without progress
        counts = next;
      }
      await loadgen.setReconnect(false, { attempts: 0, baseMs: 0, maxMs: 0 });
      const connect = {
        ...firstPass,
        opened: counts.open,
        failed: sockets - counts.open,
        durationMs: Math.max(counts.lastOpenAt, connectStartedAt) - connectStartedAt,
      };
      connect.perSecond = connect.opened / (connect.durationMs / 1000);
      log(
        `${connect.opened}/${sockets} open in ${Math.round(connect.durationMs)} ms (first pass: ${firstPass.opened} in ${Math.round(firstPass.durationMs)} ms)`,
      );
      if (connect.opened === 0) {
        throw new BenchError(
          'loadgen_failed',
          `no socket opened: ${JSON.stringify(connect.failures)}`,
        );
      }
      const incomplete = await loadgen.incompleteUsers();
      const users: number[] = [];
      for (let user = 0; user < config.users; user++) {
        if (!incomplete.has(user)) users.push(user);
      }
      const readiness = await waitForChannelSubscribers(redis, users, 120_000);
      if (!readiness.ready) log(`${readiness.missing} user channels still unsubscribed`);
      await sleep(config.settleMs);
      const idleRssBytes = target.rssBytes();
      const serverProcesses = processTree(target.pid()).length;

      publisher = createPublisher(config.history === 'on' ? 'durable' : 'plain', redisServer.url);
      const pub = publisher;
      const measured = await publishAndMeasure(
        target,
        loadgen,
        config.tabs,
        config.drainTimeoutMs,
        () => pub.burst(users.length, users),
        {},
      );
      const { publishMs: _publishMs, ...delivery } = measured;
      log(
        `delivered ${delivery.delivered}/${delivery.expected} in ${Math.round(delivery.durationMs)} ms`,
      );

      const storm = config.storm
        ? await stormAndRecover(
            config,
            target,
            loadgen,
            publisher,
            redis,
            users,
            connect.opened,
            log,
          )
        : null;

      return {
        schema: 1,
        generatedAt: new Date().toISOString(),
        command: options.command ?? 'pnpm bench:100k',
        note: options.note ?? '',
        machine,
        loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
        config: {
          target: config.target,
          users: config.users,
          tabs: config.tabs,
          sockets,
          processes: config.processes,
          sourceAddresses: config.sourceAddresses,
          serviceWorkers: config.serviceWorkers,
          history: config.history,
          stormRate: config.stormRate,
        },
        connect: {
          opened: connect.opened,
          failed: connect.failed,
          failures: connect.failures,
          durationMs: connect.durationMs,
          perSecond: connect.perSecond,
        },
        memory: {
          processes: serverProcesses,
          baselineRssBytes,
          idleRssBytes,
          perSocketBytes: (idleRssBytes - baselineRssBytes) / connect.opened,
        },
        delivery,
        storm,
      };
    } finally {
      await loadgen?.close().catch(() => undefined);
      await publisher?.close().catch(() => undefined);
      await target?.stop().catch(() => undefined);
    }
  });
}
