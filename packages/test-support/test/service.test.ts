import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  resolveFromPackage,
  type ServiceProcess,
  startService,
  TEST_SECRET,
} from '../src/index.js';

const entry = fileURLToPath(new URL('./fixtures/fake-service.mjs', import.meta.url));

let service: ServiceProcess | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

describe('startService', () => {
  it('starts the entry with the test settings and resolves once it logged listening', async () => {
    service = await startService({ entry, redisUrl: 'redis://127.0.0.1:1', env: { EXTRA: 'x' } });
    const env = (await (await fetch(service.httpUrl('/env'))).json()) as Record<string, string>;
    expect(env).toMatchObject({
      JWT_SECRET_KEY: TEST_SECRET,
      WEBSOCKET_SERVICE_HOST: '127.0.0.1',
      WEBSOCKET_SERVICE_PORT: String(service.port),
      WEBSOCKET_REDIS_URL: 'redis://127.0.0.1:1',
      EXTRA: 'x',
    });
    expect(env.HOME).toBeUndefined(); // nothing of the test's environment but PATH
    expect(service.url).toBe(`ws://127.0.0.1:${service.port}/ws`);
    expect(service.wsUrl('t')).toBe(`ws://127.0.0.1:${service.port}/ws?token=t`);
    expect(service.logLines()).toEqual([{ level: 30, port: service.port, msg: 'listening' }]);
  });

  it('stops with SIGTERM (exit 0, last lines kept) and starts again on the same port', async () => {
    service = await startService({ entry, readiness: 'readyz' });
    const firstPid = service.pid;
    await service.stop();
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.logLines().at(-1)).toEqual({ level: 30, msg: 'shutting down' });
    await service.start();
    expect(service.pid).not.toBe(firstPid);
    expect((await fetch(service.httpUrl('/readyz'))).status).toBe(200);
  });

  it('kills a frozen process that ignores SIGTERM after killAfterMs', async () => {
    service = await startService({ entry, killAfterMs: 200 });
    service.signal('SIGSTOP');
    await service.stop('SIGINT'); // SIGCONT first, then SIGINT (the fixture does not handle it)
    expect((await service.exited).signal).toBe('SIGINT');
  });

  it('rejects with the output when the process exits before it is ready', async () => {
    await expect(
      startService({ entry, env: { FAIL_START: 'JWT_SECRET_KEY: bad' } }),
    ).rejects.toThrow(
      /^service exited with 3 before listening\n--- service output ---\nJWT_SECRET_KEY: bad$/,
    );
  });

  it('rejects with the reason when the command cannot start at all', async () => {
    await expect(
      startService({ entry, wrapper: ['/nonexistent/wrapper'], readyTimeoutMs: 1_000 }),
    ).rejects.toThrow(/spawn \/nonexistent\/wrapper ENOENT/);
  });

  it('says which package to add when a package cannot be resolved by name', () => {
    expect(() => resolveFromPackage('@huleedu/no-such-package/main', tmpdir())).toThrow(
      /^cannot resolve @huleedu\/no-such-package\/main from .*: add @huleedu\/no-such-package to that package's devDependencies and build it/,
    );
  });
});
