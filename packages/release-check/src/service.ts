// The real websocket service as a child process on 127.0.0.1 and a free port, started by
// @huleedu/test-support's service starter (the built @huleedu/websocket-service, by package name).
import { startService as startServiceProcess } from '@huleedu/test-support';

/** A running service. */
export interface ServiceHandle {
  /** `ws://127.0.0.1:<port>/ws` */
  readonly url: string;
  /** Stops the process (SIGTERM, then SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** Starts the built service against `redisUrl`; resolves once `/readyz` answers 200. */
export async function startService(redisUrl: string, secret: string): Promise<ServiceHandle> {
  const service = await startServiceProcess({
    redisUrl,
    env: { JWT_SECRET_KEY: secret, LOG_LEVEL: 'warn' },
    readiness: 'readyz',
    outputLimit: 4_000,
  });
  return { url: service.url, stop: () => service.stop() };
}
