import { existsSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { freePort, type NodeProcess, startNodeProcess } from '@huleedu/test-support';
import { withServiceV8Flags } from '@huleedu/websocket-service';
import { track } from './children.js';
import { sleep } from './clock.js';
import { isService, type TargetKind } from './config.js';
import { BenchError } from './errors.js';
import { benchScript, builtServiceEntry } from './paths.js';
import { treeCpuSeconds, treeRssBytes } from './proc.js';
import type { PublishMode } from './publisher.js';

/** How the load generator talks to a target and how the bench knows it is ready. */
export interface TargetProfile {
  readonly kind: TargetKind;
  /** The program started: the service's build, or one of the bench's own servers. */
  readonly server: 'service' | 'relay' | 'socketio';
  /** Name in tables and charts. */
  readonly label: string;
  /** `ws`: plain WebSocket on /ws?token=; `socketio`: socket.io-client with the token in `auth`. */
  readonly protocol: 'ws' | 'socketio';
  /** `channels`: one Redis channel per user; `pattern`: one pattern subscription for everything. */
  readonly subscription: 'channels' | 'pattern';
  /** How backends publish to it. */
  readonly publish: PublishMode;
  /** The service's `WEBSOCKET_HISTORY` (the service variants only; unset: the shipped default). */
  readonly history?: 'on' | 'off';
}

/**
 * The servers `pnpm bench` compares. `service` is the service at-most-once (history off, plain
 * PUBLISH), like for like with the two baselines; `service-history` is the service with the
 * delivery guarantee (history on, every message published with the durable publish script), and
 * `relay-durable` the same relay process fed exactly that traffic: it forwards the positioned
 * message the script PUBLISHes on the user channel, as Redis delivers it. `service-default` is
 * the service with its shipped settings (no `WEBSOCKET_HISTORY`, so history on: a history read and
 * a `ws.synced` on every connect) fed the plain PUBLISH of existing backends, which it forwards
 * unpositioned; its baseline is the relay fed the same.
 */
export const targetProfiles: Readonly<Record<TargetKind, TargetProfile>> = {
  service: {
    kind: 'service',
    server: 'service',
    label: 'service',
    protocol: 'ws',
    subscription: 'channels',
    publish: 'plain',
    history: 'off',
  },
  relay: {
    kind: 'relay',
    server: 'relay',
    label: 'reference relay',
    protocol: 'ws',
    subscription: 'channels',
    publish: 'plain',
  },
  socketio: {
    kind: 'socketio',
    server: 'socketio',
    label: 'Socket.IO 4 + redis-adapter',
    protocol: 'socketio',
    subscription: 'pattern',
    publish: 'emitter',
  },
  'service-history': {
    kind: 'service-history',
    server: 'service',
    label: 'service, history on',
    protocol: 'ws',
    subscription: 'channels',
    publish: 'durable',
    history: 'on',
  },
  'relay-durable': {
    kind: 'relay-durable',
    server: 'relay',
    label: 'reference relay, durable publishes',
    protocol: 'ws',
    subscription: 'channels',
    publish: 'durable',
  },
  'service-default': {
    kind: 'service-default',
    server: 'service',
    label: 'service, shipped defaults',
    protocol: 'ws',
    subscription: 'channels',
    publish: 'plain',
  },
};

/** Options of {@link startTarget}. */
export interface StartTargetOptions {
  redisUrl: string;
  secret: string;
  /** `WEBSOCKET_MAX_CONNECTIONS_PER_USER` for the service. */
  maxConnectionsPerUser: number;
  /** The service's entry point ('': the built `@huleedu/websocket-service/main`). */
  serviceEntry: string;
  /** `WEBSOCKET_WORKERS` for the service, '' for unset. */
  serviceWorkers?: string;
  /** `WEBSOCKET_HISTORY` for the service (default: the profile's). */
  history?: 'on' | 'off';
  /** Write a `.cpuprofile` per process into this folder when the target exits. */
  profileDir?: string;
  /** Port to listen on (default: a free one). */
  port?: number;
  /** How long the server may take to be ready, ms (default 30 s). */
  startTimeoutMs?: number;
  /** `NODE_OPTIONS` of this server (default: the bench's own `NODE_OPTIONS`). */
  nodeOptions?: string;
  /**
   * Node and V8 flags on this server's command line (any V8 flag; `NODE_OPTIONS` allows only a
   * few). A service's own flag of the same name gives way to one given here.
   */
  execArgv?: readonly string[];
}

/** A running server under test. */
export interface RunningTarget {
  readonly profile: TargetProfile;
  readonly port: number;
  /** What the load generator connects to. */
  readonly url: string;
  /** Process id of the server (the primary, for a multi-process server). */
  pid(): number;
  /** Resident memory of the whole process tree, bytes. */
  rssBytes(): number;
  /** CPU seconds used by the whole process tree so far. */
  cpuSeconds(): number;
  /**
   * SIGTERM (a graceful drain) and wait for exit, SIGKILL after 15 s; or SIGKILL to the whole
   * group at once (a crash). Every process of the tree is gone afterwards.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts the server again on the same port, after {@link RunningTarget.stop}. */
  start(): Promise<void>;
}

/** The bench's own servers' scripts (in bench/dist). */
const serverScripts = { relay: 'relay', socketio: 'socketio-server' } as const;

function entryOf(profile: TargetProfile, options: StartTargetOptions): string {
  if (profile.server !== 'service') return benchScript(serverScripts[profile.server]);
  const entry = options.serviceEntry || builtServiceEntry();
  if (!existsSync(entry)) {
    throw new BenchError(
      'target_failed',
      `the service is not built (${entry} is missing): run pnpm build, or leave it out with --targets relay,socketio`,
    );
  }
  return entry;
}

function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/**
 * Starts one server as a child process in its own process group, with the same Redis and secret
 * as the others, and resolves when it is ready: it printed its `listening` line (and, for the
 * service, `/readyz` answers 200).
 */
export async function startTarget(
  kind: TargetKind,
  options: StartTargetOptions,
): Promise<RunningTarget> {
  const profile = targetProfiles[kind];
  const entry = entryOf(profile, options);
  const port = options.port ?? (await freePort());
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const history = isService(kind) ? (options.history ?? profile.history) : undefined;
  const nodeOptions = options.nodeOptions ?? process.env.NODE_OPTIONS;
  let server: NodeProcess | undefined;

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    WEBSOCKET_SERVICE_PORT: String(port),
    WEBSOCKET_SERVICE_HOST: '127.0.0.1',
    WEBSOCKET_REDIS_URL: options.redisUrl,
    JWT_SECRET_KEY: options.secret,
    WEBSOCKET_MAX_CONNECTIONS_PER_USER: String(options.maxConnectionsPerUser),
    // Every load generator connects from a few loopback addresses, which a deployment would see
    // as thousands of clients: the per-address limits stay on (their cost is measured) but are
    // set above the bench's load, as the relay and Socket.IO have none.
    WEBSOCKET_MAX_CONNECTIONS_PER_ADDRESS: '1000000',
    WEBSOCKET_HANDSHAKE_BURST: '1000000',
    WEBSOCKET_HANDSHAKE_RATE_PER_SECOND: '1000000',
    // The load generators share the cores with the server: starved of CPU, a client can take
    // longer than the service's 5 s to send its request, which is the bench's stall, not a slow
    // client's. 60 s is Node's own headersTimeout, what the relay and Socket.IO run with.
    WEBSOCKET_REQUEST_TIMEOUT_SECONDS: '60',
    LOG_LEVEL: 'warn',
    ...(options.serviceWorkers ? { WEBSOCKET_WORKERS: options.serviceWorkers } : {}),
    ...(history ? { WEBSOCKET_HISTORY: history } : {}),
    // The same V8 flags for every server (e.g. NODE_OPTIONS=--max-semi-space-size=4), so a
    // tuning run stays a like-for-like comparison.
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  };
  // The service starts as it ships: with its own V8 flags (as in its image), unless NODE_OPTIONS
  // already sets one of them for every target.
  const given = options.execArgv ?? [];
  const execArgv: string[] = isService(kind) ? withServiceV8Flags(given, nodeOptions) : [...given];
  if (options.profileDir) {
    mkdirSync(options.profileDir, { recursive: true });
    // Cluster workers inherit the primary's execArgv, so each process writes its own profile.
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`);
  }

  const start = async (): Promise<void> => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) return;
    try {
      server = await startNodeProcess(entry, {
        name: profile.label,
        env,
        execArgv,
        // Its own process group, so that its workers go with it; stdin stays open: the
        // baselines exit when it ends, i.e. when the bench dies unexpectedly.
        detached: true,
        stdin: 'pipe',
        outputLimit: 4000,
        killAfterMs: 15_000,
        readyTimeoutMs: startTimeoutMs,
        onSpawn: (child) => track(child, { group: true }),
        // Ready means Redis is connected for the service, whether or not the log level shows the
        // line; the baselines print it once they are subscribed.
        ...(isService(kind)
          ? { ready: async () => (await httpStatus(port, '/readyz')) === 200 }
          : { readyLine: (line: string) => line.includes('"listening"') }),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new BenchError('target_failed', `${profile.label} (${entry}) did not start: ${reason}`);
    }
  };

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    if (!server) return;
    // SIGTERM to the primary (a graceful drain of its workers), SIGKILL to the whole group; once
    // the primary is gone, the workers it left behind are killed with the group.
    await server.stop(signal);
    await sleep(50);
    server = undefined;
  };

  await start();
  const url = profile.protocol === 'ws' ? `ws://127.0.0.1:${port}/ws` : `http://127.0.0.1:${port}`;
  return {
    profile,
    port,
    url,
    pid: () => server?.pid ?? 0,
    rssBytes: () => (server?.pid ? treeRssBytes(server.pid) : 0),
    cpuSeconds: () => (server?.pid ? treeCpuSeconds(server.pid) : 0),
    stop,
    start,
  };
}
