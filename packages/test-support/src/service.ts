import { freePort } from './ports.js';
import { type NodeProcess, type NodeProcessOptions, startNodeProcess } from './process.js';
import { resolveFromPackage } from './resolve.js';

/**
 * The HS256 secret every test service verifies tokens with unless a test sets `JWT_SECRET_KEY`
 * itself; long enough for the service's minimum secret length.
 */
export const TEST_SECRET = 'huleedu-test-secret-0123456789abcdef';

/**
 * The built service entry point, `@huleedu/websocket-service/main` (its `dist/main.js`), resolved
 * from the package in `from` (default: the working directory, the package under test), which
 * lists `@huleedu/websocket-service` among its devDependencies.
 */
export function serviceEntry(from?: string): string {
  return resolveFromPackage('@huleedu/websocket-service/main', from);
}

/** Options of {@link startService}. */
export interface StartServiceOptions
  extends Omit<NodeProcessOptions, 'env' | 'readyLine' | 'ready'> {
  /** `WEBSOCKET_REDIS_URL`; unset leaves the service's default. */
  redisUrl?: string;
  /** More environment, over the test defaults (`JWT_SECRET_KEY`, host, port, `LOG_LEVEL`). */
  env?: Record<string, string | undefined>;
  /** Port to listen on (default: a free one); restarts keep it. */
  port?: number;
  /** The script to run (default: {@link serviceEntry}). */
  entry?: string;
  /**
   * When it counts as started: `listening` (its log line, the default) or `readyz` (`/readyz`
   * answers 200: Redis is connected, whatever the log level).
   */
  readiness?: 'listening' | 'readyz';
}

/** A websocket-service process on 127.0.0.1 started by {@link startService}. */
export interface ServiceProcess {
  readonly port: number;
  /** `ws://127.0.0.1:<port>/ws` */
  readonly url: string;
  /** The running process; a new one after {@link ServiceProcess.start}. */
  readonly process: NodeProcess;
  /** Its pid. */
  readonly pid: number;
  /** Resolves once the current process exited. */
  readonly exited: NodeProcess['exited'];
  /** `ws://127.0.0.1:<port>/ws?token=<token>` (or without a token). */
  wsUrl(token?: string): string;
  /** `http://127.0.0.1:<port><path>` */
  httpUrl(path: string): string;
  /** Everything the current process printed so far. */
  output(): string;
  /** Its JSON log lines (stdout). */
  logLines(): Array<Record<string, unknown>>;
  /** Sends a signal to the current process. */
  signal(signal: NodeJS.Signals): void;
  /** SIGSTOP: the process freezes, its sockets stay open (no FIN), nothing answers. */
  freeze(): void;
  /** SIGCONT after {@link ServiceProcess.freeze}. */
  thaw(): void;
  /** Stops the current process: `signal` (default SIGTERM), SIGKILL after `killAfterMs`. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the service again on the same port with the same settings (no-op while it runs). */
  start(): Promise<void>;
}

/** Whether `line` is the service's JSON log line `listening` for `port`. */
function isListeningLine(line: string, port: number): boolean {
  if (!line.startsWith('{') || !line.includes('"listening"')) return false;
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; port?: unknown };
    return parsed.msg === 'listening' && parsed.port === port;
  } catch {
    return false;
  }
}

function isRunning(child: NodeProcess): boolean {
  return child.child.exitCode === null && child.child.signalCode === null;
}

/**
 * Starts the built websocket service (`node dist/main.js`, exactly as production runs it) on a
 * loopback port with a test configuration and resolves once it is ready; rejects with its output
 * when it exits first.
 */
export async function startService(options: StartServiceOptions = {}): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const entry = options.entry ?? serviceEntry();
  const readiness = options.readiness ?? 'listening';
  const env = {
    JWT_SECRET_KEY: TEST_SECRET,
    WEBSOCKET_SERVICE_HOST: '127.0.0.1',
    WEBSOCKET_SERVICE_PORT: String(port),
    LOG_LEVEL: 'info',
    ...(options.redisUrl === undefined ? {} : { WEBSOCKET_REDIS_URL: options.redisUrl }),
    ...options.env,
  };
  const httpUrl = (path: string): string => `http://127.0.0.1:${port}${path}`;
  const launch = (): Promise<NodeProcess> =>
    startNodeProcess(entry, {
      name: 'service',
      ...options,
      env,
      readyLabel: readiness === 'listening' ? 'listening' : '/readyz answered 200',
      ...(readiness === 'listening'
        ? { readyLine: (line: string) => isListeningLine(line, port) }
        : {
            ready: async () =>
              (await fetch(httpUrl('/readyz'))
                .then((r) => r.status)
                .catch(() => 0)) === 200,
          }),
    });
  let current = await launch();

  return {
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    get process() {
      return current;
    },
    get pid() {
      return current.pid;
    },
    get exited() {
      return current.exited;
    },
    wsUrl: (token) => `ws://127.0.0.1:${port}/ws${token === undefined ? '' : `?token=${token}`}`,
    httpUrl,
    output: () => current.output(),
    logLines: () =>
      current
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    signal: (signal) => current.signal(signal),
    freeze: () => current.signal('SIGSTOP'),
    thaw: () => current.signal('SIGCONT'),
    stop: (signal) => current.stop(signal),
    async start() {
      if (isRunning(current)) return;
      current = await launch();
    },
  };
}
