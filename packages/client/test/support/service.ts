import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@huleedu/test-support';

const mainScript = fileURLToPath(
  new URL('../../../../apps/websocket-service/dist/main.js', import.meta.url),
);

/** Shared secret the test services verify tokens with. */
export const TEST_SECRET = 'ws-client-test-secret-0123456789abcdef';

/** Options of {@link startService}. */
export interface ServiceOptions {
  redisUrl: string;
  /** Extra environment, e.g. `{ JWT_CLOCK_TOLERANCE_SECONDS: '0' }`. */
  env?: Record<string, string>;
}

/** A real websocket-service process on 127.0.0.1. */
export interface ServiceHandle {
  /** `ws://127.0.0.1:<port>/ws` */
  url: string;
  port: number;
  /** Starts the process (again, on the same port) and resolves once it logged `listening`. */
  start(): Promise<void>;
  /** Sends `signal` and waits for the process to exit (SIGKILL after 10 s). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the process freezes, its sockets stay open (no FIN), nothing answers. */
  freeze(): void;
  /** SIGCONT after {@link freeze}. */
  thaw(): void;
}

/** Throws a clear error when the service was not built. */
export function assertServiceBuilt(): void {
  if (!existsSync(mainScript)) {
    throw new Error(
      `websocket service not built (${mainScript} missing): run \`npx turbo run build --filter=@huleedu/websocket-service...\` in the repo root`,
    );
  }
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts the built websocket service as a child process with a test configuration. */
export async function startService(options: ServiceOptions): Promise<ServiceHandle> {
  assertServiceBuilt();
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    if (child) return;
    const proc = spawn(process.execPath, [mainScript], {
      env: {
        PATH: process.env.PATH ?? '',
        WEBSOCKET_SERVICE_PORT: String(port),
        WEBSOCKET_SERVICE_HOST: '127.0.0.1',
        WEBSOCKET_REDIS_URL: options.redisUrl,
        JWT_SECRET_KEY: TEST_SECRET,
        WEBSOCKET_PING_INTERVAL: '5',
        LOG_LEVEL: 'info',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    running.add(proc);
    let output = '';
    let listening = false;
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8_000);
      if (/"msg":"listening"/.test(output)) listening = true;
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', () => {
      running.delete(proc);
      if (child === proc) child = undefined;
    });
    await waitFor(
      () => {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          throw new Error(`websocket service exited during start: ${output}`);
        }
        return listening;
      },
      { timeoutMs: 30_000, message: `websocket service listening on ${port}` },
    );
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT'); // a frozen process cannot act on SIGTERM
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    port,
    start,
    stop,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
  };
}
