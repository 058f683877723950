import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
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
  type BuildStep,
  buildContextFiles,
  buildStageSteps,
  localCommand,
  type ReplayPaths,
  replayCopy,
} from './dockerfile-replay.js';
import {
  connectClient,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

// Replays the build stage of apps/websocket-service/Dockerfile on this machine, step by step and
// in its order, from an empty pnpm store, cache and config, then runs what it produced as an
// unprivileged user. No Docker engine is needed: the steps are the image's, the kernel is ours.

const run = promisify(execFile);
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const repoRoot = join(packageDir, '..', '..');
const steps = buildStageSteps(readFileSync(join(packageDir, 'Dockerfile'), 'utf8'));
const PNPM_INSTALL = 'npm install -g pnpm@10 && pnpm --version';
/** An unprivileged account every Debian machine has (the image itself uses `node`, uid 1000). */
const NOBODY = 65534;

let scratch: string;
let paths: ReplayPaths;
let out: string;
let redis: RedisHandle | undefined;
let service: ServiceProcess | undefined;

/** A clean environment, as in `docker build`: nothing of this machine's pnpm state leaks in. */
function buildEnv(): NodeJS.ProcessEnv {
  const fresh = (name: string): string => join(scratch, name);
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? scratch,
    CI: 'true',
    PNPM_HOME: fresh('pnpm-home'),
    PNPM_STORE_DIR: fresh('store'),
    XDG_CACHE_HOME: fresh('cache'),
    XDG_DATA_HOME: fresh('data'),
    XDG_CONFIG_HOME: fresh('config'),
    XDG_STATE_HOME: fresh('state'),
  };
}

async function replay(step: BuildStep, contextFiles: readonly string[]): Promise<void> {
  if (step.kind === 'COPY') {
    replayCopy(step, repoRoot, contextFiles, paths);
    return;
  }
  // The image installs pnpm 10 globally; here the machine's pnpm must be that major version.
  if (step.command === PNPM_INSTALL) {
    const { stdout } = await run('pnpm', ['--version'], { env: buildEnv() });
    expect(stdout.trim()).toMatch(/^10\./);
    return;
  }
  const command = localCommand(step.command, paths);
  try {
    await run('sh', ['-c', command], {
      cwd: paths.workDir,
      env: buildEnv(),
      timeout: 240_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`build step failed: ${step.command}\n${stdout}\n${stderr}`);
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ws-image-'));
  // The unprivileged user must be able to reach the produced folder.
  chmodSync(scratch, 0o755);
  paths = { workDir: join(scratch, 'repo'), rootDir: join(scratch, 'root') };
  out = join(paths.rootDir, 'out');
  const contextFiles = await buildContextFiles(
    repoRoot,
    join(packageDir, 'Dockerfile.dockerignore'),
  );
  for (const step of steps) await replay(step, contextFiles);
}, 420_000);

afterAll(async () => {
  terminateClients();
  await service?.stop();
  await redis?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the Dockerfile build stage', () => {
  it('fetches from the lockfile alone, then builds the whole context with one script', () => {
    const script = '/usr/local/bin/container-build.sh';
    expect(
      steps.map((s) => (s.kind === 'RUN' ? s.command : `COPY ${s.sources} ${s.dest}`)),
    ).toEqual([
      PNPM_INSTALL,
      `COPY apps/websocket-service/scripts/container-build.sh ${script}`,
      'COPY pnpm-lock.yaml,pnpm-workspace.yaml ./',
      `sh ${script} fetch`,
      'COPY . .',
      `sh ${script} build /out`,
    ]);
  });

  it('writes the compiled service with production dependencies only', () => {
    expect(readdirSync(out).sort()).toEqual(['README.md', 'dist', 'node_modules', 'package.json']);
    const modules = readdirSync(join(out, 'node_modules'));
    for (const dep of ['ws', 'ioredis', 'pino', 'prom-client']) expect(modules).toContain(dep);
    expect(readdirSync(join(out, 'node_modules', '@huleedu')).sort()).toEqual([
      'auth',
      'ws-protocol',
    ]);
    for (const dev of ['vitest', 'yaml', 'typescript', '@types', '@huleedu/test-support'])
      expect(modules).not.toContain(dev);
    // Workspace packages arrive compiled and copied: nothing links back into the build folder.
    for (const name of ['auth', 'ws-protocol']) {
      const real = realpathSync(join(out, 'node_modules', '@huleedu', name));
      expect(real.startsWith(realpathSync(out))).toBe(true);
      expect(existsSync(join(real, 'dist', 'index.js'))).toBe(true);
    }
  });

  it('deploys exactly the versions pnpm-lock.yaml pins', () => {
    const lockfile = readFileSync(join(repoRoot, 'pnpm-lock.yaml'), 'utf8');
    const deployed = readdirSync(join(out, 'node_modules', '.pnpm')).filter(
      (entry) => entry.includes('@') && !entry.includes('@file+'),
    );
    expect(deployed.length).toBeGreaterThan(20);
    for (const entry of deployed) {
      // ".pnpm" folder names: "name@version" or "@scope+name@version", peers after "_".
      const at = entry.lastIndexOf('@');
      const name = entry.slice(0, at).replace('+', '/');
      const version = entry.slice(at + 1).split('_')[0];
      expect(lockfile, `${name}@${version}`).toMatch(
        new RegExp(`^ {2}'?${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}@${version}'?:`, 'm'),
      );
    }
  });

  it('runs from that folder alone as an unprivileged user and delivers a notification', async () => {
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chownTree(out, NOBODY);
    redis = await startRedis();
    service = await startServiceProcess(
      { WEBSOCKET_REDIS_URL: redis.url, NODE_ENV: 'production' },
      {
        main: join(out, 'dist', 'main.js'),
        cwd: out,
        ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
      },
    );
    const status = readFileSync(`/proc/${service.pid}/status`, 'utf8');
    expect(Number(/^Uid:\s+(\d+)/m.exec(status)?.[1])).not.toBe(0);
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
      await publisher.publish('ws:deployed', '{"event":"from_image","data":{}}');
      await waitFor(() => tab.frames.length === 1, { message: 'delivered' });
    } finally {
      publisher.disconnect();
    }
    expect(tab.frames).toEqual(['{"event":"from_image","data":{}}']);
  });
});

/** `chown -R`, as the Dockerfile's `COPY --chown=node:node /out` does. */
function chownTree(path: string, id: number): void {
  chownSync(path, id, id);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) chownTree(join(path, entry.name), id);
    else if (!entry.isSymbolicLink()) chownSync(join(path, entry.name), id, id);
  }
}
