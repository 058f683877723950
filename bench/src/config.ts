import { randomBytes } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchError } from './errors.js';
import { type OptionSpec, type OptionValues, parseOptions } from './options.js';
import { repoRoot } from './paths.js';
import { DEFAULT_RETENTION, type HistoryRetention } from './publish-script.js';

/**
 * The servers `pnpm bench` can measure: the service (history off, like the baselines), the two
 * baselines, the service with the delivery guarantee on (`service-history`), the reference
 * relay fed the same durable publishes as it (`relay-durable`), its like-for-like baseline, and
 * the service as it ships (`service-default`: history on) fed the plain PUBLISH of existing
 * backends, whose baseline is the relay fed the same.
 */
export const targetKinds = [
  'service',
  'relay',
  'socketio',
  'service-history',
  'relay-durable',
  'service-default',
] as const;
/** One of {@link targetKinds}. */
export type TargetKind = (typeof targetKinds)[number];

/**
 * The targets a run measures when `--targets` is not given: all but `service-default`, which is
 * measured on request (`--targets service-default,relay`), so the default run keeps its length.
 */
export const defaultTargets: readonly TargetKind[] = targetKinds.filter(
  (kind) => kind !== 'service-default',
);

/**
 * Baselines that receive the traffic of one service setting only, and the setting they are
 * compared with: the relay fed durable publishes is no baseline of the service at-most-once
 * (plain PUBLISH), only of the service with history on.
 */
export const pairedBaselines: Readonly<Partial<Record<TargetKind, TargetKind>>> = {
  'relay-durable': 'service-history',
};

/**
 * The like-for-like baseline of each service setting other than `service`, fed the same traffic:
 * compared whenever both ran, whichever target came first.
 */
export const settingBaselines: Readonly<Partial<Record<TargetKind, TargetKind>>> = {
  'service-history': 'relay-durable',
  'service-default': 'relay',
};

/**
 * The pairs measured in alternating fixed-rate rounds: each service setting of `targets` whose
 * like-for-like baseline ({@link settingBaselines}) is in `targets` too.
 */
export function alternatingPairs(targets: readonly TargetKind[]): Array<[TargetKind, TargetKind]> {
  const pairs: Array<[TargetKind, TargetKind]> = [];
  for (const subject of targets) {
    const baseline = settingBaselines[subject];
    if (baseline && targets.includes(baseline)) pairs.push([subject, baseline]);
  }
  return pairs;
}

/** Whether a target is the service (started from its build), whatever its settings. */
export function isService(kind: TargetKind): boolean {
  return kind === 'service' || kind === 'service-history' || kind === 'service-default';
}

/** Everything one `pnpm bench` run does, after flags, environment and defaults. */
export interface BenchConfig {
  /** Servers to measure, in order; ratios are computed against the first one's baselines. */
  targets: TargetKind[];
  /** Distinct users; each gets `tabs` sockets. */
  users: number;
  /** Sockets per user (browser tabs). */
  tabs: number;
  /** Load-generator processes sharing the sockets. */
  processes: number;
  /** Loopback source addresses the sockets spread over (about 28,000 ports each). */
  sourceAddresses: string[];
  /**
   * Give each target its own fresh source addresses (when they were not listed explicitly), so
   * the TIME_WAIT ports one target's closed sockets leave behind never run the next one short.
   */
  rotateAddresses: boolean;
  /** Handshakes in flight per load-generator process. */
  concurrency: number;
  /** Messages published back to back in the burst phase (each to one user: `tabs` deliveries). */
  burst: number;
  /** Measured burst repetitions after the one warm-up burst; medians are reported. */
  burstRounds: number;
  /** Messages per second in the fixed-rate phase. */
  rate: number;
  /** Length of one fixed-rate round, ms. */
  durationMs: number;
  /** Fixed-rate rounds; latency is the median round's by p99. */
  rateRounds: number;
  /**
   * Alternating rounds per side of each pair (a service setting and its baseline, both in
   * `targets`), run side by side after the targets (`paired-rate.ts`): this many fixed-rate
   * rounds, then as many connect rounds; 0 skips them.
   */
  pairedRounds: number;
  /** Length of one alternating fixed-rate round, ms. */
  pairedDurationMs: number;
  /**
   * Connect rounds: the first opens every socket at the start; each further one, after the
   * fixed-rate rounds, closes every socket from the client side and opens them all again.
   * Connects per server CPU-second and the connect rate are the medians of the rounds' own.
   */
  connectRounds: number;
  /** How long to wait for the last deliveries once publishing stops, ms. */
  drainTimeoutMs: number;
  /** Pause before an idle memory sample, ms. */
  settleMs: number;
  /** Give up on one handshake after this long, ms. */
  connectTimeoutMs: number;
  /** The service's built entry point. */
  serviceEntry: string;
  /** `WEBSOCKET_WORKERS` for the service, or '' to leave it unset. */
  serviceWorkers: string;
  /** Folder for `latest.json` and `latest.svg`. */
  outDir: string;
  /** Markdown file whose marked section is rewritten with the results, or '' to leave docs alone. */
  docsFile: string;
  /** Folder for `.cpuprofile` files of the first target, or '' for no profiling. */
  profileDir: string;
  /** JWT secret shared by the servers and the load generator. */
  secret: string;
  /** History kept by every durable publish of the run (the memory figures' retention). */
  retention: HistoryRetention;
  /** Messages per round of the publish-throughput comparison (0: skip it). */
  publishMessages: number;
  /** Rounds of each publish kind; the median is reported. */
  publishRounds: number;
  /** History lengths (messages per user) whose Redis memory is measured (empty: skip). */
  memoryEntries: number[];
  /** Users per memory measurement (their mean is reported). */
  memoryUsers: number;
}

/** The two modes of the bench: the side-by-side comparison, and 100,000 sockets with a storm. */
export const benchModes = ['compare', '100k'] as const;
/** One of {@link benchModes}. */
export type BenchMode = (typeof benchModes)[number];

/** The command a person types for each mode. */
export const benchCommands: Readonly<Record<BenchMode, string>> = {
  compare: 'pnpm bench',
  '100k': 'pnpm bench:100k',
};

/** Defaults and wording of the options both modes have, where they differ. */
interface SharedDefaults {
  mode: BenchMode;
  users: number;
  tabs: { default: number; max: number };
  minProcesses: number;
  concurrency: number;
  connectTimeoutSeconds: number;
  drainTimeout: { default: number; min: number; description: string };
  settle: { default: number; description: string };
  serviceWorkers: string;
  out: string;
}

/** The options of both modes, in the order `--help` lists them. */
function sharedOptions(d: SharedDefaults): OptionSpec[] {
  return [
    {
      name: 'mode',
      kind: 'string',
      default: d.mode,
      choices: benchModes,
      description: 'compare: the servers side by side; 100k: 100,000 sockets and a reconnect storm',
    },
    { name: 'users', kind: 'int', default: d.users, min: 1, max: 1_000_000, description: 'users' },
    {
      name: 'tabs',
      kind: 'int',
      default: d.tabs.default,
      min: 1,
      max: d.tabs.max,
      description: 'sockets per user',
    },
    {
      name: 'processes',
      kind: 'int',
      default: 0,
      min: 0,
      max: 64,
      description: `load-generator processes (0: one per 15,000 sockets, at least ${d.minProcesses})`,
    },
    {
      name: 'source-addresses',
      kind: 'list',
      default: [],
      description: 'loopback source addresses (empty: 127.0.0.2 and up, one per 10,000 sockets)',
    },
    {
      name: 'concurrency',
      kind: 'int',
      default: d.concurrency,
      min: 1,
      max: 10_000,
      description: 'handshakes in flight per load-generator process',
    },
    {
      name: 'connect-timeout',
      kind: 'number',
      default: d.connectTimeoutSeconds,
      min: 1,
      max: 600,
      description: 'seconds before one handshake counts as failed',
    },
    {
      name: 'drain-timeout',
      kind: 'number',
      default: d.drainTimeout.default,
      min: d.drainTimeout.min,
      max: 3600,
      description: d.drainTimeout.description,
    },
    {
      name: 'settle',
      kind: 'number',
      default: d.settle.default,
      min: 0,
      max: 600,
      description: d.settle.description,
    },
    {
      name: 'service-entry',
      kind: 'string',
      default: '',
      description: 'built service entry point (empty: @huleedu/websocket-service/main)',
    },
    {
      name: 'service-workers',
      kind: 'string',
      default: '',
      description: d.serviceWorkers,
    },
    { name: 'out', kind: 'string', default: 'docs/bench', description: d.out },
    {
      name: 'docs',
      kind: 'string',
      default: 'docs/benchmarks.md',
      description: 'markdown file to update (empty: none)',
    },
    { name: 'help', kind: 'flag', default: false, description: 'print this help' },
  ];
}

/** Every option of `pnpm bench`, with defaults that finish all five targets in a few minutes. */
export const benchOptions: readonly OptionSpec[] = [
  ...sharedOptions({
    mode: 'compare',
    users: 5000,
    tabs: { default: 2, max: 50 },
    minProcesses: 2,
    concurrency: 64,
    connectTimeoutSeconds: 30,
    drainTimeout: { default: 20, min: 0.1, description: 'seconds to wait for the last deliveries' },
    settle: { default: 2, description: 'seconds of quiet before an idle memory sample' },
    serviceWorkers: 'WEBSOCKET_WORKERS for the service (empty: unset)',
    out: 'folder for latest.json/.svg',
  }),
  {
    name: 'targets',
    kind: 'list',
    default: [...defaultTargets],
    choices: targetKinds,
    description:
      'servers to measure, first one is compared with the others (service-default: on request)',
  },
  {
    name: 'burst',
    kind: 'int',
    default: 50_000,
    min: 0,
    max: 10_000_000,
    description: 'messages in the burst',
  },
  {
    name: 'burst-rounds',
    kind: 'int',
    default: 5,
    min: 1,
    max: 20,
    description: 'measured bursts per target after one warm-up burst, the medians are reported',
  },
  {
    name: 'rate',
    kind: 'int',
    default: 5000,
    min: 0,
    max: 1_000_000,
    description: 'messages/s in the fixed-rate phase',
  },
  {
    name: 'duration',
    kind: 'number',
    default: 10,
    min: 0,
    max: 3600,
    description: 'seconds of one fixed-rate round',
  },
  {
    name: 'rate-rounds',
    kind: 'int',
    default: 3,
    min: 1,
    max: 20,
    description: 'fixed-rate rounds per target, latency of the median round by p99',
  },
  {
    name: 'paired-rounds',
    kind: 'int',
    default: 6,
    min: 0,
    max: 40,
    description:
      'alternating fixed-rate rounds of each service setting and its baseline, side by side (0: none)',
  },
  {
    name: 'paired-duration',
    kind: 'number',
    default: 5,
    min: 1,
    max: 600,
    description: 'seconds of one alternating fixed-rate round',
  },
  {
    name: 'connect-rounds',
    kind: 'int',
    default: 3,
    min: 1,
    max: 20,
    description:
      'connect rounds per target (every socket closed and reopened after the fixed rate), the medians are reported',
  },
  {
    name: 'profile',
    kind: 'string',
    default: '',
    description: 'folder for CPU profiles of the first target (empty: none)',
  },
  {
    name: 'history-length',
    kind: 'int',
    default: DEFAULT_RETENTION.length,
    min: 1,
    max: 1_000_000,
    description: 'history entries kept per user by durable publishes',
  },
  {
    name: 'history-ttl',
    kind: 'int',
    default: DEFAULT_RETENTION.ttlSeconds,
    min: 1,
    max: 365 * 86_400,
    description: 'seconds a user history lives after its last message',
  },
  {
    name: 'publish-messages',
    kind: 'int',
    default: 50_000,
    min: 0,
    max: 10_000_000,
    description: 'messages per round of publish throughput, durable vs plain (0: skip)',
  },
  {
    name: 'publish-rounds',
    kind: 'int',
    default: 5,
    min: 1,
    max: 50,
    description: 'rounds of each publish kind, the median is reported',
  },
  {
    name: 'memory-entries',
    kind: 'list',
    default: ['10', '100', '1000'],
    description: 'history lengths whose Redis memory per user is measured (empty: skip)',
  },
  {
    name: 'memory-users',
    kind: 'int',
    default: 100,
    min: 1,
    max: 100_000,
    description: 'users per memory measurement (the mean is reported)',
  },
];

/** Paths in options are relative to the repository root, so the command works from anywhere. */
export function fromRepo(path: string): string {
  if (path === '') return '';
  return isAbsolute(path) ? path : resolve(repoRoot, path);
}

/** Source addresses {@link loopbackAddresses} hands out: 127.0.0.2 to 127.0.0.251. */
const MAX_LOOPBACK_ADDRESSES = 250;

/** `count` loopback addresses starting at 127.0.0.2 (127.0.0.1 is where the servers listen). */
export function loopbackAddresses(count: number): string[] {
  if (count > MAX_LOOPBACK_ADDRESSES) {
    throw new BenchError('bad_option', `too many source addresses: ${count}`);
  }
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`);
}

// Of the ~28,000 ephemeral ports per address, bind() with port 0 (how a socket gets a source
// address) prefers the odd half; once that half is nearly used up every bind scans it first and
// the kernel time per connection climbs steeply. 10,000 per address stays clear of that.
const PORTS_PER_ADDRESS = 10_000;
const SOCKETS_PER_PROCESS = 15_000; // under the 20,000 open-file limit, with room for the rest

/**
 * The source addresses connect round `round` (1-based) of target number `index` uses. With
 * rotation each round of each target gets its own: a socket the client closed leaves its port in
 * TIME_WAIT for a minute, and a round that bound to those addresses again would have every bind()
 * scan the port range past them. Listed addresses serve every round.
 */
export function addressesForTarget(config: BenchConfig, index: number, round = 1): string[] {
  const block = index * config.connectRounds + round - 1;
  if (!config.rotateAddresses || block === 0) return config.sourceAddresses;
  return addressBlock(config.sourceAddresses.length, block);
}

/**
 * The source addresses of side `side` (0: the setting, 1: its baseline) of alternating pair
 * `pair` ({@link alternatingPairs}) for its first connect (`round` 0) and each of its connect
 * rounds (1 to `pairedRounds`): with rotation, a block of its own after every target's.
 */
export function addressesForPairedSide(
  config: BenchConfig,
  pair: number,
  side: number,
  round: number,
): string[] {
  if (!config.rotateAddresses) return config.sourceAddresses;
  const targetBlocks = config.targets.length * config.connectRounds;
  const block = targetBlocks + (pair * 2 + side) * (config.pairedRounds + 1) + round;
  return addressBlock(config.sourceAddresses.length, block);
}

/** Loopback address block `block` of `count` addresses. */
function addressBlock(count: number, block: number): string[] {
  return loopbackAddresses(count * (block + 1)).slice(count * block);
}

/** Processes needed to hold `sockets` within the per-process file limit (at least `minimum`). */
export function processesFor(sockets: number, minimum: number): number {
  return Math.max(minimum, Math.ceil(sockets / SOCKETS_PER_PROCESS));
}

/** Source addresses needed for `sockets` ports toward one server port. */
export function addressesFor(sockets: number): string[] {
  return loopbackAddresses(Math.max(1, Math.ceil(sockets / PORTS_PER_ADDRESS)));
}

/** Checks that the socket spread fits the machine's limits; throws a {@link BenchError} if not. */
export function checkSpread(sockets: number, processes: number, addresses: number): void {
  if (Math.ceil(sockets / processes) > 19_000) {
    throw new BenchError(
      'bad_option',
      `${sockets} sockets over ${processes} processes is more than 19,000 per process (file limit 20,000): raise --processes`,
    );
  }
  if (Math.ceil(sockets / addresses) > 20_000) {
    throw new BenchError(
      'bad_option',
      `${sockets} sockets over ${addresses} source addresses is more than 20,000 ports each (of about 28,000, and bind() slows down long before): add --source-addresses`,
    );
  }
}

/** What both modes derive the same way from their option values. */
interface CommonSettings {
  users: number;
  tabs: number;
  sockets: number;
  processes: number;
  /** Listed with --source-addresses (empty: chosen by socket count). */
  listed: string[];
  sourceAddresses: string[];
  concurrency: number;
  connectTimeoutMs: number;
  drainTimeoutMs: number;
  settleMs: number;
  serviceEntry: string;
  outDir: string;
  docsFile: string;
  secret: string;
}

function commonSettings(
  v: OptionValues,
  mode: BenchMode,
  minProcesses: number,
  env: NodeJS.ProcessEnv,
): CommonSettings {
  if (v.mode !== mode) {
    throw new BenchError(
      'bad_option',
      `--mode ${String(v.mode)}: run ${benchCommands[v.mode as BenchMode]} for that mode`,
    );
  }
  const users = v.users as number;
  const tabs = v.tabs as number;
  const sockets = users * tabs;
  const processes = (v.processes as number) || processesFor(sockets, minProcesses);
  const listed = v['source-addresses'] as string[];
  const sourceAddresses = listed.length > 0 ? listed : addressesFor(sockets);
  checkSpread(sockets, processes, sourceAddresses.length);
  return {
    users,
    tabs,
    sockets,
    processes,
    listed,
    sourceAddresses,
    concurrency: v.concurrency as number,
    connectTimeoutMs: Math.round((v['connect-timeout'] as number) * 1000),
    drainTimeoutMs: Math.round((v['drain-timeout'] as number) * 1000),
    settleMs: Math.round((v.settle as number) * 1000),
    serviceEntry: fromRepo(v['service-entry'] as string),
    outDir: fromRepo(v.out as string),
    docsFile: fromRepo(v.docs as string),
    secret: env.JWT_SECRET_KEY ?? randomBytes(32).toString('hex'),
  };
}

/** Builds the `pnpm bench` configuration from flags and `BENCH_*` environment variables. */
export function parseBenchConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): BenchConfig & { help: boolean } {
  const v = parseOptions(benchOptions, argv, env);
  const common = commonSettings(v, 'compare', 2, env);
  const { sockets, listed, sourceAddresses } = common;
  const targets = [...new Set(v.targets as TargetKind[])];
  if (targets.length === 0) throw new BenchError('bad_option', '--targets: name at least one');
  const connectRounds = v['connect-rounds'] as number;
  // The alternating rounds' servers take the address blocks after the targets' own.
  const pairedRounds = v['paired-rounds'] as number;
  const pairedBlocks =
    pairedRounds > 0 ? alternatingPairs(targets).length * 2 * (pairedRounds + 1) : 0;
  const rotated = sourceAddresses.length * (targets.length * connectRounds + pairedBlocks);
  if (listed.length === 0 && rotated > MAX_LOOPBACK_ADDRESSES) {
    throw new BenchError(
      'bad_option',
      `(${targets.length} targets x ${connectRounds} connect rounds${pairedBlocks > 0 ? ` + ${pairedBlocks} alternating connects` : ''}) x ${sourceAddresses.length} source address(es) need ${rotated} loopback addresses, more than ${MAX_LOOPBACK_ADDRESSES}: lower --connect-rounds${pairedBlocks > 0 ? ' or --paired-rounds' : ''}, or list --source-addresses (shared by every round)`,
    );
  }
  const memoryEntries = (v['memory-entries'] as string[]).map((item) => {
    const entries = Number(item);
    if (!Number.isInteger(entries) || entries < 1 || entries > 100_000) {
      throw new BenchError(
        'bad_option',
        `--memory-entries: expected whole numbers from 1 to 100000, got ${JSON.stringify(item)}`,
      );
    }
    return entries;
  });
  return {
    help: v.help as boolean,
    targets,
    users: common.users,
    tabs: common.tabs,
    processes: Math.min(common.processes, sockets),
    sourceAddresses,
    rotateAddresses: listed.length === 0,
    concurrency: common.concurrency,
    burst: v.burst as number,
    burstRounds: v['burst-rounds'] as number,
    rate: v.rate as number,
    durationMs: Math.round((v.duration as number) * 1000),
    rateRounds: v['rate-rounds'] as number,
    pairedRounds,
    pairedDurationMs: Math.round((v['paired-duration'] as number) * 1000),
    connectRounds,
    drainTimeoutMs: common.drainTimeoutMs,
    settleMs: common.settleMs,
    connectTimeoutMs: common.connectTimeoutMs,
    serviceEntry: common.serviceEntry,
    serviceWorkers: v['service-workers'] as string,
    outDir: common.outDir,
    docsFile: common.docsFile,
    profileDir: fromRepo(v.profile as string),
    secret: common.secret,
    retention: { length: v['history-length'] as number, ttlSeconds: v['history-ttl'] as number },
    publishMessages: v['publish-messages'] as number,
    publishRounds: v['publish-rounds'] as number,
    memoryEntries,
    memoryUsers: v['memory-users'] as number,
  };
}

/** Everything `pnpm bench:100k` (`--mode 100k`) does, after flags, environment and defaults. */
export interface Bench100kConfig {
  /** `service` (the point of the exercise) or `relay` (to try the harness without the service). */
  target: 'service' | 'relay';
  users: number;
  tabs: number;
  processes: number;
  sourceAddresses: string[];
  /** Addresses for the reconnects of the storm (the first set's ports sit in TIME_WAIT). */
  spareAddresses: string[];
  concurrency: number;
  connectTimeoutMs: number;
  /** Retries of a failed connect, with jittered backoff (clients in the wild retry too). */
  connectRetries: number;
  drainTimeoutMs: number;
  settleMs: number;
  serviceEntry: string;
  /** `WEBSOCKET_WORKERS` for the service. */
  serviceWorkers: string;
  /**
   * `on`: the service runs with `WEBSOCKET_HISTORY=on`, every message goes through the durable
   * publish script, and clients resume from their last position; `off`: plain PUBLISH, no resume.
   */
  history: 'on' | 'off';
  /** Run the reconnect storm after the delivery check. */
  storm: boolean;
  /** Messages per second a publisher keeps sending from before the storm until all are back (0: none). */
  stormRate: number;
  /** How the service is taken down for the storm. */
  stormSignal: 'SIGTERM' | 'SIGKILL';
  /** Clients spread their first reconnect after a 1001 close uniformly over this, ms. */
  stormJitterMs: number;
  /** Give up waiting for every socket to come back after this long, ms. */
  stormTimeoutMs: number;
  outDir: string;
  docsFile: string;
  secret: string;
}

/** Every option of `pnpm bench:100k`. */
export const bench100kOptions: readonly OptionSpec[] = [
  ...sharedOptions({
    mode: '100k',
    users: 100_000,
    tabs: { default: 1, max: 5 },
    minProcesses: 6,
    concurrency: 32,
    connectTimeoutSeconds: 60,
    drainTimeout: {
      default: 60,
      min: 1,
      description: 'seconds without a new delivery before the rest counts as lost',
    },
    settle: { default: 5, description: 'seconds of quiet before a memory sample' },
    serviceWorkers: 'WEBSOCKET_WORKERS (empty: one per 15,000 sockets, at least 6; or auto)',
    out: 'folder for 100k.json',
  }),
  {
    name: 'target',
    kind: 'string',
    default: 'service',
    choices: ['service', 'relay'],
    description: 'server to hold the sockets',
  },
  {
    name: 'connect-retries',
    kind: 'int',
    default: 5,
    min: 0,
    max: 50,
    description: 'retries of a failed connect',
  },
  {
    name: 'history',
    kind: 'string',
    default: 'on',
    choices: ['on', 'off'],
    description: 'on: durable publishes, WEBSOCKET_HISTORY=on, clients resume; off: plain PUBLISH',
  },
  { name: 'storm', kind: 'flag', default: true, description: 'run the reconnect storm' },
  {
    name: 'storm-rate',
    kind: 'int',
    default: 200,
    min: 0,
    max: 100_000,
    description: 'messages/s published throughout the storm, all counted per socket (0: none)',
  },
  {
    name: 'storm-signal',
    kind: 'string',
    default: 'SIGTERM',
    choices: ['SIGTERM', 'SIGKILL'],
    description: 'how the service is taken down for the storm',
  },
  {
    name: 'storm-jitter',
    kind: 'number',
    default: 3,
    min: 0,
    max: 600,
    description:
      'seconds: clients spread their first reconnect after 1001 over this (ws-client default 3)',
  },
  {
    name: 'storm-timeout',
    kind: 'number',
    default: 600,
    min: 1,
    max: 3600,
    description: 'seconds to wait for every socket to come back',
  },
];

/** Builds the `pnpm bench:100k` configuration from flags and `BENCH_*` environment variables. */
export function parseBench100kConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Bench100kConfig & { help: boolean } {
  const v = parseOptions(bench100kOptions, ['--mode', '100k', ...argv], env);
  const common = commonSettings(v, '100k', 6, env);
  const { sockets, listed, sourceAddresses } = common;
  const spareAddresses =
    listed.length > 0
      ? []
      : loopbackAddresses(sourceAddresses.length * 2).slice(sourceAddresses.length);
  const target = v.target as Bench100kConfig['target'];
  if (target === 'relay' && sockets > 19_000) {
    throw new BenchError(
      'bad_option',
      `the reference relay is one process (file limit 20,000): use --users <= 19000 with --target relay`,
    );
  }
  return {
    help: v.help as boolean,
    target,
    users: common.users,
    tabs: common.tabs,
    processes: Math.min(common.processes, common.users),
    sourceAddresses,
    spareAddresses,
    concurrency: common.concurrency,
    connectTimeoutMs: common.connectTimeoutMs,
    connectRetries: v['connect-retries'] as number,
    drainTimeoutMs: common.drainTimeoutMs,
    settleMs: common.settleMs,
    serviceEntry: common.serviceEntry,
    serviceWorkers: (v['service-workers'] as string) || String(processesFor(sockets, 6)),
    history: v.history as Bench100kConfig['history'],
    storm: v.storm as boolean,
    stormRate: v['storm-rate'] as number,
    stormSignal: v['storm-signal'] as Bench100kConfig['stormSignal'],
    stormJitterMs: Math.round((v['storm-jitter'] as number) * 1000),
    stormTimeoutMs: Math.round((v['storm-timeout'] as number) * 1000),
    outDir: common.outDir,
    docsFile: common.docsFile,
    secret: common.secret,
  };
}

/**
 * The mode a command line asks for (`--mode`, else `BENCH_MODE`, else `compare`), read before the
 * mode's own options are parsed.
 */
export function benchModeOf(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): BenchMode {
  const { values } = parseArgs({
    args: [...argv],
    options: { mode: { type: 'string' } },
    strict: false,
  });
  const mode = values.mode ?? env.BENCH_MODE ?? 'compare';
  if (!benchModes.includes(mode as BenchMode)) {
    throw new BenchError(
      'bad_option',
      `--mode: expected one of ${benchModes.join(', ')}, got ${JSON.stringify(mode)}`,
    );
  }
  return mode as BenchMode;
}
