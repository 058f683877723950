// The real websocket service (apps/websocket-service/dist/main.js) as a child process on
// 127.0.0.1 and a free port.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@huleedu/test-support';
import { watchChild } from './child.js';

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
  const { output, stop } = watchChild(child, 10_000, 4_000);
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) {
          throw new Error(`the service exited ${child.exitCode}\n${output()}`);
        }
        return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: `the service on port ${port}\n${output()}` },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `ws://127.0.0.1:${port}/ws`, stop };
}
