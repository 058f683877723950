// A release as another repository meets it: `pnpm release`'s script publishes every public
// package to a private registry (a local Verdaccio), then fresh projects outside this repository
// install them with npm and with pnpm from that registry only, type-check a program importing
// each package strictly, and run it: the installed @huleedu/notify publishes through a real
// redis-server and the real service, and the installed @huleedu/ws-client receives and validates.
import { existsSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RedisHandle, repositoryRoot, startRedis, succeed } from '@huleedu/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceHandle, startService } from '../src/service.js';
import { type RegistryHandle, startRegistry } from '../src/verdaccio.js';

const repoRoot = repositoryRoot();
const fixture = fileURLToPath(new URL('../fixtures/consumer', import.meta.url));
const publicPackages = [
  '@huleedu/ws-protocol',
  '@huleedu/auth',
  '@huleedu/notify',
  '@huleedu/ws-client',
];
// What the consumer's program needs beside our packages, from the registry's uplink.
const consumerTools = ['ws@8', '@types/ws@8', '@types/node@20', 'typescript@5.9'];
const secret = 'release-check-secret-0123456789abcdef';

let workDir: string;
let registry: RegistryHandle;
let redis: RedisHandle | undefined;
let service: ServiceHandle | undefined;
let releaseOutput = '';

beforeAll(async () => {
  workDir = realpathSync(await mkdtemp(join(tmpdir(), 'huleedu-release-')));
  const inside = relative(realpathSync(repoRoot), workDir);
  if (!inside.startsWith('..')) throw new Error(`${workDir} is inside the repository`);
  registry = await startRegistry({ dir: join(workDir, 'registry') });

  // The publisher's .npmrc names the registry for the scope and reads the token from the
  // environment (npm expands ${HULEEDU_NPM_TOKEN}), as the README's "Releasing" section sets it up.
  const host = new URL(registry.url).host;
  const publisherRc = join(workDir, 'publisher.npmrc');
  await writeFile(
    publisherRc,
    `@huleedu:registry=${registry.url}\n//${host}/:_authToken=\${HULEEDU_NPM_TOKEN}\n`,
  );
  const released = await succeed(
    'node',
    ['scripts/release.mjs', '--no-git-checks', '--no-git-tag'],
    {
      cwd: repoRoot,
      env: { NPM_CONFIG_USERCONFIG: publisherRc, HULEEDU_NPM_TOKEN: registry.token },
      timeoutMs: 180_000,
    },
  );
  releaseOutput = released.stdout + released.stderr;
}, 240_000);

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
  await registry?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('pnpm release', () => {
  it('publishes every public package, with workspace ranges rewritten to versions', async () => {
    for (const name of publicPackages) {
      const response = await fetch(`${registry.url}${name.replace('/', '%2f')}`);
      expect(response.status, `${name} in the registry`).toBe(200);
      const document = (await response.json()) as {
        'dist-tags': { latest: string };
        versions: Record<string, { dependencies?: Record<string, string> }>;
      };
      const latest = document.versions[document['dist-tags'].latest];
      for (const range of Object.values(latest?.dependencies ?? {})) {
        expect(range).not.toMatch(/^workspace:/);
      }
    }
  });

  it('does not publish the private packages', async () => {
    for (const name of ['@huleedu/websocket-service', '@huleedu/test-support', '@huleedu/bench']) {
      const response = await fetch(`${registry.url}${name.replace('/', '%2f')}`);
      expect(response.status, `${name} in the registry`).toBe(404);
    }
  });

  it('builds the Python package when it exists, and says so when it does not', async () => {
    const python = join(repoRoot, 'python/huleedu-notify');
    if (existsSync(join(python, 'pyproject.toml'))) {
      const built = await readdir(join(python, 'dist'));
      expect(built.some((file) => file.endsWith('.whl'))).toBe(true);
      expect(built.some((file) => file.endsWith('.tar.gz'))).toBe(true);
    } else {
      expect(releaseOutput).toContain('Python package: skipped');
    }
  });
});

describe.each(['npm', 'pnpm'])('a fresh project installing with %s', (manager) => {
  let project: string;

  beforeAll(async () => {
    project = join(workDir, `consumer-${manager}`);
    await mkdir(project);
    await writeFile(
      join(project, 'package.json'),
      `${JSON.stringify({ name: `consumer-${manager}`, private: true, type: 'module' }, null, 2)}\n`,
    );
    // Every package from the private registry only; it fetches what is not ours from upstream.
    await writeFile(join(project, '.npmrc'), `registry=${registry.url}\n`);
    for (const file of ['index.ts', 'tsconfig.json']) {
      await copyFile(join(fixture, file), join(project, file));
    }
    const add =
      manager === 'npm'
        ? ['install', '--no-audit', '--no-fund', '--no-update-notifier']
        : ['add', '--config.confirmModulesPurge=false'];
    await succeed(manager, [...add, ...publicPackages, ...consumerTools], {
      cwd: project,
      timeoutMs: 180_000,
    });
  }, 240_000);

  it('installs the released versions', async () => {
    const manifest = JSON.parse(await readFile(join(project, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const name of publicPackages) {
      const installed = JSON.parse(
        await readFile(join(project, 'node_modules', name, 'package.json'), 'utf8'),
      ) as { version: string };
      const source = JSON.parse(
        await readFile(join(repoRoot, workspaceFolder(name), 'package.json'), 'utf8'),
      ) as { version: string };
      expect(installed.version, name).toBe(source.version);
      expect(manifest.dependencies[name]).toBeDefined();
    }
  });

  it('type-checks a program importing every package with tsc --strict (and compiles it)', async () => {
    // One compile: --strict errors fail it (exit 2) exactly as with --noEmit; the output runs next.
    const tsc = join(project, 'node_modules/typescript/bin/tsc');
    await succeed('node', [tsc, '--strict', '-p', 'tsconfig.json'], { cwd: project });
    expect(existsSync(join(project, 'out/index.js'))).toBe(true);
  });

  it('delivers one notification from @huleedu/notify to @huleedu/ws-client through the service', async () => {
    redis ??= await startRedis();
    service ??= await startService(redis.url, secret);
    const { stdout } = await succeed('node', ['out/index.js'], {
      cwd: project,
      env: { SERVICE_URL: service.url, REDIS_URL: redis.url, JWT_SECRET_KEY: secret },
      timeoutMs: 30_000,
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(report).toEqual({
      channel: 'ws:teacher-1',
      problems: [],
      receivers: 1,
      received: { batchId: 'batch-42', count: 28, message: 'Results are ready' },
      normalClose: 1000,
    });
  });
});

/** The folder of a public package in this repository. */
function workspaceFolder(name: string): string {
  const folders: Record<string, string> = {
    '@huleedu/ws-protocol': 'packages/protocol',
    '@huleedu/auth': 'packages/auth',
    '@huleedu/notify': 'packages/notify',
    '@huleedu/ws-client': 'packages/client',
  };
  const folder = folders[name];
  if (folder === undefined) throw new Error(`no folder known for ${name}`);
  return folder;
}
