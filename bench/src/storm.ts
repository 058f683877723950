import type { Redis } from 'ioredis';
import { nowMs, sleep } from './clock.js';
import {
  type CommandCalls,
  callsBetween,
  readCommandCalls,
  subtractCalls,
} from './commandstats.js';
import type { Bench100kConfig } from './config.js';
import { waitForDeliveries } from './drain.js';
import type { Loadgen } from './loadgen.js';
import type { CountsResult } from './loadgen-protocol.js';
import type { MachineInfo } from './machine.js';
import type { Publisher, PublishSummary } from './publisher.js';
import { waitForChannelSubscribers } from './readiness.js';
import { type DeliverySummary, publishAndMeasure } from './scenario.js';
import { type StormRedisCommands, stormCommands } from './storm-commands.js';
import type { RunningTarget } from './targets.js';

/**
 * What a publisher sent while the storm ran, and whether every socket got all of it. With
 * history, counted per socket by position: each socket must receive every position of its user
 * exactly once; without, by count.
 */
export interface StormPublishing {
  /** Messages per second, from before the signal until every socket was back. */
  rate: number;
  published: number;
  /** published x tabs. */
  expected: number;
  /** Positions received past each socket's last one (with history), else frames received. */
  delivered: number;
  /** expected deliveries that never arrived: skipped, resynced, or missing at the end. */
  lost: number;
  /** Of `lost`, the positions a `ws.resync` announced (signalled, not silent). */
  resynced: number;
  /** Positioned messages a socket received twice. */
  duplicates: number;
  /** Counted by position (history on) or only by count (history off). */
  byPosition: boolean;
  /** `ws.synced` messages the clients got, and the messages they said were replayed. */
  synced: number;
  replayed: number;
  /** `ws.resync` messages by reason. */
  resyncs: Record<string, number>;
  /** Sockets not at their user's last position when the wait ended. */
  socketsBehind: number;
  /** Publisher stopped to last delivery, ms. */
  drainMs: number;
}

/** The reconnect storm: every socket dropped at once, then re-established by the clients. */
export interface StormResult {
  signal: 'SIGTERM' | 'SIGKILL';
  /** Signal sent to last process gone, ms. */
  stopMs: number;
  /** Restart to ready again, ms. */
  restartMs: number;
  /** Signal sent to every socket open again, ms (the headline number). */
  allBackMs: number;
  /** Sockets open when the wait ended. */
  open: number;
  /** Sockets that had reopened since the signal when the wait ended (absent in older reports). */
  back?: number;
  /**
   * The service with history on: sockets that had their `ws.synced` or `ws.resync` since the
   * signal when the wait ended (a socket is back at open, synced once its resume is settled);
   * absent without history, and in older reports.
   */
  synced?: number;
  /** Signal sent to every socket synced, ms (or to the end of the wait); absent as `synced`. */
  allSyncedMs?: number;
  /**
   * Redis commands from the signal until every socket was back (and synced, with history) and
   * subscribed again: the server's, per reconnected socket (absent in older reports).
   */
  redisCommands?: StormRedisCommands;
  reconnects: number;
  reconnectFailures: number;
  /** Why reconnect tries failed, and how often. */
  reconnectFailureReasons: Record<string, number>;
  /** Close reasons the clients saw when the service went away. */
  closes: Record<string, number>;
  /** The publisher that kept sending throughout (null with --storm-rate 0). */
  publishing: StormPublishing | null;
  /** One more notification per user once everyone is back. */
  afterStorm: DeliverySummary | null;
}

/** What `pnpm bench:100k` writes to `docs/bench/100k.json`. */
export interface Bench100kReport {
  schema: 1;
  generatedAt: string;
  command: string;
  note: string;
  machine: MachineInfo;
  /** 1-minute load average at the start and the end (absent in older reports). */
  loadAverage?: { start: number; end: number };
  config: {
    target: string;
    users: number;
    tabs: number;
    sockets: number;
    processes: number;
    sourceAddresses: string[];
    serviceWorkers: string;
    history?: 'on' | 'off';
    stormRate?: number;
  };
  connect: {
    opened: number;
    failed: number;
    failures: Record<string, number>;
    /** First handshake to last socket open, ms. */
    durationMs: number;
    perSecond: number;
  };
  memory: {
    /** Processes in the server's tree (primary + workers). */
    processes: number;
    baselineRssBytes: number;
    idleRssBytes: number;
    perSocketBytes: number;
  };
  /** One notification per user. */
  delivery: DeliverySummary;
  storm: StormResult | null;
}

/** Waits for the storm's deliveries, then counts them per socket (history) or in total. */
async function countStormDeliveries(
  config: Bench100kConfig,
  loadgen: Loadgen,
  publisher: Publisher,
  sent: PublishSummary,
): Promise<StormPublishing> {
  const byPosition = config.history === 'on';
  const expected = sent.published * config.tabs;
  const drained = await waitForDeliveries(
    async () => {
      const counts = await loadgen.counts();
      return byPosition ? { ...counts, delivered: counts.fresh } : counts;
    },
    expected,
    config.drainTimeoutMs,
  );
  const stats = await loadgen.stats();
  const resume = stats.resume;
  const audit = byPosition ? await loadgen.audit(publisher.positions()) : undefined;
  const delivered = drained.counts.delivered;
  return {
    rate: config.stormRate,
    published: sent.published,
    expected,
    delivered,
    lost: audit ? resume.missed + resume.resynced + audit.tail : Math.max(0, expected - delivered),
    resynced: resume.resynced + (audit?.tailAfterResync ?? 0),
    duplicates: resume.duplicates,
    byPosition,
    synced: resume.synced,
    replayed: resume.replayed,
    resyncs: resume.resyncs,
    socketsBehind: audit?.behind ?? 0,
    drainMs: Math.max(0, (drained.counts.lastDeliveryAt || sent.finishedAt) - sent.finishedAt),
  };
}

export async function stormAndRecover(
  config: Bench100kConfig,
  target: RunningTarget,
  loadgen: Loadgen,
  publisher: Publisher,
  redis: Redis,
  users: number[],
  expectedOpen: number,
  log: (line: string) => void,
): Promise<StormResult> {
  await loadgen.reset();
  // The reconnect policy of @huleedu/ws-client's defaults: 1001 -> uniform delay up to the
  // spread, then (and after any other close) full-jitter backoff from 0.5 s, doubling to 30 s.
  await loadgen.setReconnect(true, {
    attempts: 30,
    baseMs: 500,
    maxMs: 30_000,
    goingAwaySpreadMs: config.stormJitterMs,
  });
  // The publisher keeps sending from before the signal until every socket is back: what it sends
  // while a user's sockets are away must reach them when they resume.
  // Redis's command counts before the publisher starts and at the signal: what it costs per
  // message while it sends alone is left out of the storm's commands.
  let alone: { calls: CommandCalls; sent: number } | undefined;
  if (config.stormRate > 0)
    alone = { calls: await readCommandCalls(redis), sent: publisher.sent() };
  const publishing =
    config.stormRate > 0
      ? publisher.steady(config.stormRate, users, config.stormTimeoutMs + 60_000)
      : undefined;
  if (publishing) await sleep(Math.min(1000, 200_000 / config.stormRate));
  const sentAtSignal = publisher.sent();
  const callsAtSignal = await readCommandCalls(redis);
  const signalledAt = nowMs();
  log(`storm: ${config.stormSignal} to the server with ${expectedOpen} sockets open`);
  await target.stop(config.stormSignal);
  const stoppedAt = nowMs();
  await target.start();
  const restartedAt = nowMs();
  log(`storm: server back after ${Math.round(restartedAt - signalledAt)} ms; waiting for clients`);
  // Back means reopened since the signal: a starved client process may not have seen its close
  // yet, and still counts its socket as open.
  const allBack = (c: CountsResult): boolean => c.open >= expectedOpen && c.back >= expectedOpen;
  let counts = await loadgen.counts();
  const deadline = signalledAt + config.stormTimeoutMs;
  let loggedAt = nowMs();
  while (!allBack(counts) && nowMs() < deadline) {
    await sleep(500);
    counts = await loadgen.counts();
    if (nowMs() - loggedAt >= 10_000) {
      loggedAt = nowMs();
      log(
        `storm: ${counts.back}/${expectedOpen} back (${counts.open} open) after ${Math.round(loggedAt - signalledAt)} ms`,
      );
    }
  }
  const allBackMs = (allBack(counts) ? counts.lastOpenAt : nowMs()) - signalledAt;
  log(`storm: ${counts.back}/${expectedOpen} back after ${Math.round(allBackMs)} ms`);
  // With history the service answers every connect with ws.synced (or ws.resync) once the
  // socket's resume is settled: the storm is over when every socket has had its own.
  const syncs = config.target === 'service' && config.history === 'on';
  const allSynced = (c: CountsResult): boolean => c.synced >= expectedOpen;
  while (syncs && allBack(counts) && !allSynced(counts) && nowMs() < deadline) {
    await sleep(250);
    counts = await loadgen.counts();
  }
  const allSyncedMs = syncs
    ? (allSynced(counts) ? counts.lastSyncedAt : nowMs()) - signalledAt
    : undefined;
  if (allSyncedMs !== undefined) {
    log(`storm: ${counts.synced}/${expectedOpen} synced after ${Math.round(allSyncedMs)} ms`);
  }
  // The last resubscriptions belong to the storm too.
  if (allBack(counts)) await waitForChannelSubscribers(redis, users, 120_000);
  const sentAtEnd = publisher.sent();
  const callsAtEnd = await readCommandCalls(redis);
  const redisCommands = stormCommands({
    atSignal: callsAtSignal,
    atEnd: callsAtEnd,
    readingsInWindow: 1,
    publisherMessages: sentAtEnd - sentAtSignal,
    ...(alone
      ? {
          publisherAlone: {
            // less the `info` of the reading that opened the stretch
            calls: subtractCalls(callsBetween(alone.calls, callsAtSignal), { info: 1 }),
            messages: sentAtSignal - alone.sent,
          },
        }
      : {}),
    sockets: counts.back,
  });
  log(
    `storm: ${redisCommands.total} Redis commands from the server (${redisCommands.perSocket?.toFixed(2) ?? '-'} per reconnected socket)`,
  );
  let stormPublishing: StormPublishing | null = null;
  if (publishing) {
    const sent = await publishing.stop();
    log(`storm: ${sent.published} published during the storm; waiting for their deliveries`);
    stormPublishing = await countStormDeliveries(config, loadgen, publisher, sent);
    log(
      `storm: delivered ${stormPublishing.delivered}/${stormPublishing.expected}, lost ${stormPublishing.lost}, ` +
        `duplicates ${stormPublishing.duplicates}, replayed ${stormPublishing.replayed}`,
    );
  }
  const stats = await loadgen.stats();
  await loadgen.setReconnect(false, { attempts: 0, baseMs: 0, maxMs: 0 });

  let afterStorm: DeliverySummary | null = null;
  if (allBack(counts)) {
    await waitForChannelSubscribers(redis, users, 120_000);
    const measured = await publishAndMeasure(
      target,
      loadgen,
      config.tabs,
      config.drainTimeoutMs,
      () => publisher.burst(users.length, users),
      {},
    );
    const { publishMs: _publishMs, ...summary } = measured;
    afterStorm = summary;
  }
  return {
    signal: config.stormSignal,
    stopMs: stoppedAt - signalledAt,
    restartMs: restartedAt - stoppedAt,
    allBackMs,
    open: counts.open,
    back: counts.back,
    ...(allSyncedMs !== undefined ? { synced: counts.synced, allSyncedMs } : {}),
    redisCommands,
    reconnects: stats.reconnects,
    reconnectFailures: stats.reconnectFailures,
    reconnectFailureReasons: stats.reconnectFailureReasons,
    closes: stats.closes,
    publishing: stormPublishing,
    afterStorm,
  };
}
