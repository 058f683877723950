import { randomBytes } from 'node:crypto';
import { addressesFor, checkSpread, fromRepo, loopbackAddresses, processesFor } from './config.js';
import { BenchError } from './errors.js';
import { type OptionSpec, parseOptions } from './options.js';
import { defaultServiceEntry } from './paths.js';

/** Everything `pnpm bench:100k` does, after flags, environment and defaults. */
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
  {
    name: 'target',
    kind: 'string',
    default: 'service',
    choices: ['service', 'relay'],
    description: 'server to hold the sockets',
  },
  { name: 'users', kind: 'int', default: 100_000, min: 1, max: 1_000_000, description: 'users' },
  { name: 'tabs', kind: 'int', default: 1, min: 1, max: 5, description: 'sockets per user' },
  {
    name: 'processes',
    kind: 'int',
    default: 0,
    min: 0,
    max: 64,
    description: 'load-generator processes (0: one per 15,000 sockets, at least 6)',
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
    default: 32,
    min: 1,
    max: 10_000,
    description: 'handshakes in flight per load-generator process',
  },
  {
    name: 'connect-timeout',
    kind: 'number',
    default: 60,
    min: 1,
    max: 600,
    description: 'seconds before one handshake counts as failed',
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
    name: 'drain-timeout',
    kind: 'number',
    default: 60,
    min: 1,
    max: 3600,
    description: 'seconds without a new delivery before the rest counts as lost',
  },
  {
    name: 'settle',
    kind: 'number',
    default: 5,
    min: 0,
    max: 600,
    description: 'seconds of quiet before a memory sample',
  },
  {
    name: 'service-entry',
    kind: 'string',
    default: defaultServiceEntry,
    description: 'built service entry point',
  },
  {
    name: 'service-workers',
    kind: 'string',
    default: '',
    description: 'WEBSOCKET_WORKERS (empty: one per 15,000 sockets, at least 6; or auto)',
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
  { name: 'out', kind: 'string', default: 'docs/bench', description: 'folder for 100k.json' },
  {
    name: 'docs',
    kind: 'string',
    default: 'docs/benchmarks.md',
    description: 'markdown file to update (empty: none)',
  },
  { name: 'help', kind: 'flag', default: false, description: 'print this help' },
];

/** Builds the 100k configuration from flags and `BENCH_*` environment variables. */
export function parseBench100kConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Bench100kConfig & { help: boolean } {
  const v = parseOptions(bench100kOptions, argv, env);
  const users = v.users as number;
  const tabs = v.tabs as number;
  const sockets = users * tabs;
  const processes = (v.processes as number) || processesFor(sockets, 6);
  const listed = v['source-addresses'] as string[];
  const sourceAddresses = listed.length > 0 ? listed : addressesFor(sockets);
  const spareAddresses =
    listed.length > 0
      ? []
      : loopbackAddresses(sourceAddresses.length * 2).slice(sourceAddresses.length);
  checkSpread(sockets, processes, sourceAddresses.length);
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
    users,
    tabs,
    processes: Math.min(processes, users),
    sourceAddresses,
    spareAddresses,
    concurrency: v.concurrency as number,
    connectTimeoutMs: Math.round((v['connect-timeout'] as number) * 1000),
    connectRetries: v['connect-retries'] as number,
    drainTimeoutMs: Math.round((v['drain-timeout'] as number) * 1000),
    settleMs: Math.round((v.settle as number) * 1000),
    serviceEntry: fromRepo(v['service-entry'] as string),
    serviceWorkers: (v['service-workers'] as string) || String(processesFor(sockets, 6)),
    history: v.history as Bench100kConfig['history'],
    storm: v.storm as boolean,
    stormRate: v['storm-rate'] as number,
    stormSignal: v['storm-signal'] as Bench100kConfig['stormSignal'],
    stormJitterMs: Math.round((v['storm-jitter'] as number) * 1000),
    stormTimeoutMs: Math.round((v['storm-timeout'] as number) * 1000),
    outDir: fromRepo(v.out as string),
    docsFile: fromRepo(v.docs as string),
    secret: env.JWT_SECRET_KEY ?? randomBytes(32).toString('hex'),
  };
}
