// The real websocket service (apps/websocket-service/dist/main.js) as a child process on
// 127.0.0.1 and a free port.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@huleedu/test-support';

const mainScript = fileURLToPath(
  new URL('../../../apps/websocket-service/dist/main.js', import.meta.url),
);

/** A running service. */
export interface ServiceHandle {
  /** `ws://127.0.0.1:<port>/ws` */
  readonly url: string;
  /** Stops the process (SIGTERM, then SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** Starts the built service against `redisUrl`; resolves once `/readyz` answers 200. */
export async function startService(redisUrl: string, secret: string): Promise<ServiceHandle> {
  if (!existsSync(mainScript)) {
    throw new Error(`the websocket service is not built (${mainScript}): run pnpm build`);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [mainScript], {
    env: {
      PATH: process.env.PATH ?? '',
      WEBSOCKET_SERVICE_PORT: String(port),
      WEBSOCKET_SERVICE_HOST: '127.0.0.1',
      WEBSOCKET_REDIS_URL: redisUrl,
      JWT_SECRET_KEY: secret,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the service exited ${child.exitCode}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: `the service on port ${port}\n${output}` },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `ws://127.0.0.1:${port}/ws`, stop };
}
