import { startRedis } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { nowMs, sleep } from './clock.js';
import type { Bench100kConfig } from './config-100k.js';
import { BenchError } from './errors.js';
import { type Loadgen, startLoadgen } from './loadgen.js';
import { describeMachine, type MachineInfo } from './machine.js';
import { processTree } from './proc.js';
import { createPublisher, type Publisher } from './publisher.js';
import { waitForChannelSubscribers } from './readiness.js';
import { type DeliverySummary, publishAndMeasure } from './scenario.js';
import { type RunningTarget, startTarget } from './targets.js';

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
  reconnects: number;
  reconnectFailures: number;
  /** Why reconnect tries failed, and how often. */
  reconnectFailureReasons: Record<string, number>;
  /** Close reasons the clients saw when the service went away. */
  closes: Record<string, number>;
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
  config: {
    target: string;
    users: number;
    tabs: number;
    sockets: number;
    processes: number;
    sourceAddresses: string[];
    serviceWorkers: string;
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

async function stormAndRecover(
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
  const signalledAt = nowMs();
  log(`storm: ${config.stormSignal} to the server with ${expectedOpen} sockets open`);
  await target.stop(config.stormSignal);
  const stoppedAt = nowMs();
  await target.start();
  const restartedAt = nowMs();
  log(`storm: server back after ${Math.round(restartedAt - signalledAt)} ms; waiting for clients`);
  let counts = await loadgen.counts();
  const deadline = signalledAt + config.stormTimeoutMs;
  let loggedAt = nowMs();
  while (counts.open < expectedOpen && nowMs() < deadline) {
    await sleep(500);
    counts = await loadgen.counts();
    if (nowMs() - loggedAt >= 10_000) {
      loggedAt = nowMs();
      log(
        `storm: ${counts.open}/${expectedOpen} back after ${Math.round(loggedAt - signalledAt)} ms`,
      );
    }
  }
  const stats = await loadgen.stats();
  const allBackMs = (counts.open >= expectedOpen ? counts.lastOpenAt : nowMs()) - signalledAt;
  log(`storm: ${counts.open}/${expectedOpen} back after ${Math.round(allBackMs)} ms`);
  await loadgen.setReconnect(false, { attempts: 0, baseMs: 0, maxMs: 0 });

  let afterStorm: DeliverySummary | null = null;
  if (counts.open >= expectedOpen) {
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
    reconnects: stats.reconnects,
    reconnectFailures: stats.reconnectFailures,
    reconnectFailureReasons: stats.reconnectFailureReasons,
    closes: stats.closes,
    afterStorm,
  };
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
  const redisServer = await startRedis();
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  let target: RunningTarget | undefined;
  let loadgen: Loadgen | undefined;
  let publisher: Publisher | undefined;
  try {
    await redis.config('SET', 'client-output-buffer-limit', 'pubsub 512mb 256mb 120');
    const machine = await describeMachine(redis);
    target = await startTarget(config.target, {
      redisUrl: redisServer.url,
      secret: config.secret,
      maxConnectionsPerUser: Math.max(config.tabs, 5),
      serviceEntry: config.serviceEntry,
      serviceWorkers: config.serviceWorkers,
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
        (c) => log(`${c.open}/${sockets} open after ${Math.round(nowMs() - connectStartedAt)} ms`),
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

    publisher = createPublisher('channels', redisServer.url);
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
      ? await stormAndRecover(config, target, loadgen, publisher, redis, users, connect.opened, log)
      : null;

    return {
      schema: 1,
      generatedAt: new Date().toISOString(),
      command: options.command ?? 'pnpm bench:100k',
      note: options.note ?? '',
      machine,
      config: {
        target: config.target,
        users: config.users,
        tabs: config.tabs,
        sockets,
        processes: config.processes,
        sourceAddresses: config.sourceAddresses,
        serviceWorkers: config.serviceWorkers,
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
    redis.disconnect();
    await redisServer.stop();
  }
}
