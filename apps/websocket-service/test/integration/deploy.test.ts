import { execFile } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
let workDir: string;
let out: string;
let redis: RedisHandle | undefined;
let service: ServiceProcess | undefined;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'ws-deploy-'));
  out = join(workDir, 'out');
  // What the Dockerfile runs. pnpm 10 only deploys injected workspace packages unless --legacy.
  await run(
    'pnpm',
    ['--filter', '@huleedu/websocket-service', 'deploy', '--prod', '--legacy', '--offline', out],
    { cwd: repoRoot, timeout: 180_000 },
  );
}, 200_000);

afterAll(async () => {
  terminateClients();
  await service?.stop();
  await redis?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe('pnpm deploy --prod', () => {
  it('produces a folder with the compiled service and production dependencies only', () => {
    expect(readdirSync(out).sort()).toEqual(['README.md', 'dist', 'node_modules', 'package.json']);
    const modules = readdirSync(join(out, 'node_modules'));
    for (const dep of ['ws', 'ioredis', 'pino', 'prom-client']) expect(modules).toContain(dep);
    expect(readdirSync(join(out, 'node_modules', '@huleedu')).sort()).toEqual([
      'auth',
      'ws-protocol',
    ]);
    for (const dev of ['vitest', 'yaml', 'typescript', '@types'])
      expect(modules).not.toContain(dev);
    // Workspace packages arrive compiled and copied: nothing links back into the repository.
    for (const name of ['auth', 'ws-protocol']) {
      const real = realpathSync(join(out, 'node_modules', '@huleedu', name));
      expect(real.startsWith(realpathSync(out))).toBe(true);
      expect(existsSync(join(real, 'dist', 'index.js'))).toBe(true);
    }
  });

  it('starts from that folder alone and delivers a notification', async () => {
    redis = await startRedis();
    service = await startServiceProcess(
      { WEBSOCKET_REDIS_URL: redis.url, NODE_ENV: 'production' },
      { main: join(out, 'dist', 'main.js'), cwd: out },
    );
    await waitUntilReady(service);
    const tab = connectClient(service.wsUrl(signToken('deployed', { secret: SECRET })));
    await tab.opened;
    const publisher = new Redis(redis.url);
    try {
      await waitFor(
        async () =>
          Number(((await publisher.pubsub('NUMSUB', 'ws:deployed')) as [string, number])[1]) === 1,
        { message: 'subscribed' },
      );
      await publisher.publish('ws:deployed', '{"event":"from_deploy","data":{}}');
      await waitFor(() => tab.frames.length === 1, { message: 'delivered' });
    } finally {
      publisher.disconnect();
    }
    expect(tab.frames).toEqual(['{"event":"from_deploy","data":{}}']);
  });
});
