import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { forgetOnExit, killOnExit } from './exit-hook.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** A running `redis-server` started by {@link startRedis}. */
export interface RedisHandle {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
  /** Starts the server again on the same port (after {@link RedisHandle.stop}, or stops it first). */
  restart(): Promise<void>;
  /** Starts the server again after a stop, on the same port. */
  start(): Promise<void>;
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Port to listen on (default: a free one). */
  port?: number;
  /** Extra redis-server arguments, e.g. `['--maxclients', '100']`. */
  args?: string[];
}

/** Throws a clear error when `redis-server` is not installed. */
export function assertRedisInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-server not found on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis)',
    );
  }
}

/** Resolves when something accepts TCP connections on the port. */
export function portAcceptsConnections(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts a real `redis-server` bound to 127.0.0.1 on a free port, without persistence, and resolves
 * once it accepts connections. The server is killed when the test process exits.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHandle> {
  assertRedisInstalled();
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child) return;
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      ...(options.args ?? []),
    ];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    killOnExit(proc, (child) => child.kill('SIGKILL'));
    proc.once('exit', () => {
      forgetOnExit(proc);
      if (child === proc) child = undefined;
    });
    child = proc;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
        return portAcceptsConnections(port);
      },
      { timeoutMs: 10_000, message: `redis-server on port ${port}` },
    );
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
  };
}
