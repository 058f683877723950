// The packages as a backend outside this monorepo gets them: packed tarballs installed with npm
// into a fresh project in the OS temp dir, then imported, run and type-checked there.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordingSubscriber, recordingSubscriber } from './subscriber.js';

const packages = fileURLToPath(new URL('../..', import.meta.url));
const repoRoot = join(packages, '..');
const packed = ['protocol', 'notify'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Under `pnpm test`, pnpm exports its whole config as npm_config_* (its globalconfig, lockfile
// and script settings), which npm would read as its own. Keep only what says how to reach the
// registry (a CI mirror, a proxy, a CA) and where the cache is.
const npmSettingsToKeep =
  /^npm_config_(registry|cafile|ca|cert|key|strict_ssl|proxy|https_proxy|http_proxy|noproxy|cache|userconfig)$/i;

function keepEnv(key: string): boolean {
  if (/^pnpm_/i.test(key)) return false;
  if (/^npm_/i.test(key)) return npmSettingsToKeep.test(key);
  return true;
}

/** Runs a command to completion (killed after `timeoutMs`) with the environment filtered by keepEnv. */
function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => keepEnv(key)));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${command} ${args.join(' ')} still running after ${timeoutMs} ms\n${stderr}`),
      );
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${error.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function succeed(command: string, args: string[], cwd: string, timeoutMs = 60_000) {
  const result = await run(command, args, cwd, timeoutMs);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code} in ${cwd}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

let workDir: string;
let app: string;
let redis: RedisHandle;
let subscriber: RecordingSubscriber;

beforeAll(async () => {
  for (const name of packed) {
    if (!existsSync(join(packages, name, 'dist', 'index.js'))) {
      throw new Error(
        `packages/${name}/dist is missing: run \`pnpm build\` at the repository root first`,
      );
    }
  }
  workDir = await mkdtemp(join(tmpdir(), 'huleedu-notify-pack-'));
  app = join(workDir, 'app');
  await mkdir(app);
  // pnpm pack (not npm pack) rewrites workspace:^ to the real version range.
  for (const name of packed) {
    await succeed('pnpm', ['pack', '--pack-destination', workDir], join(packages, name));
  }
  const tarballs = (await readdir(workDir))
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(workDir, f));
  expect(tarballs).toHaveLength(2);
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'notify-pack-check', private: true, type: 'module' }, null, 2),
  );
  // One install command for both tarballs: @huleedu/ws-protocol is not on the registry, so npm
  // must resolve the notify tarball's dependency on it to the protocol tarball given here.
  await succeed('npm', ['install', '--no-audit', '--no-fund', ...tarballs], app, 110_000);

  redis = await startRedis();
  subscriber = await recordingSubscriber(redis.url);
  await subscriber.subscribe('ws:teacher-1');
}, 180_000);

afterAll(async () => {
  await subscriber?.close();
  await redis?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('the packed packages installed with npm outside the monorepo', () => {
  it('depend on each other by version, not workspace:', async () => {
    const manifest = JSON.parse(
      await readFile(join(app, 'node_modules/@huleedu/notify/package.json'), 'utf8'),
    ) as { dependencies: Record<string, string> };
    const protocol = JSON.parse(
      await readFile(join(packages, 'protocol/package.json'), 'utf8'),
    ) as { version: string };
    expect(manifest.dependencies['@huleedu/ws-protocol']).toBe(`^${protocol.version}`);
    const files = await readdir(join(app, 'node_modules/@huleedu/notify'));
    expect(files.sort()).toEqual([
      'CHANGELOG.md',
      'README.md',
      'bin',
      'dist',
      'lua',
      'package.json',
    ]);
    // The durable publish script ships as a file other languages can load too.
    expect(await readdir(join(app, 'node_modules/@huleedu/notify/lua'))).toEqual([
      'disconnect.lua',
      'publish.lua',
    ]);
  });

  it('publish a notification durably (history and live) that a subscriber receives', async () => {
    await writeFile(
      join(app, 'publish.mjs'),
      `import { createNotifier } from '@huleedu/notify';
const notifier = createNotifier({ redis: process.argv[2] });
try {
  const result = await notifier.publishUserNotification('teacher-1', 'batch_results_ready', {
    batch_id: 'from-tarball',
    results_count: 3,
    message: 'Results ready',
  });
  console.log(JSON.stringify(result));
} finally {
  await notifier.close();
}
`,
    );
    const result = await succeed('node', ['publish.mjs', redis.url], app, 30_000);
    const published = JSON.parse(result.stdout);
    expect(published).toMatchObject({ position: 1, receivers: 1, duplicate: false });
    const message = await waitFor(() =>
      subscriber.messages
        .map((m) => JSON.parse(m.message))
        .find((m) => m.data.batch_id === 'from-tarball'),
    );
    expect(message).toMatchObject({
      position: 1,
      epoch: published.epoch,
      event: 'batch_results_ready',
      data: { priority: 'high' },
    });
  });

  it('install a working huleedu-notify binary', async () => {
    const result = await succeed(
      join(app, 'node_modules/.bin/huleedu-notify'),
      ['--redis', redis.url, '--user', 'teacher-1', '--raw-event', 'from_bin', '--data', '{}'],
      app,
      30_000,
    );
    expect(result.stdout).toMatch(
      /^published from_bin to ws:teacher-1 at position 2 of epoch [\w-]+ \(1 receiver\)\n$/,
    );
  });

  it('install a binary that cuts a user off with the shipped disconnect script', async () => {
    const result = await succeed(
      join(app, 'node_modules/.bin/huleedu-notify'),
      ['--redis', redis.url, '--user', 'teacher-1', '--disconnect', '--reason', 'from_bin'],
      app,
      30_000,
    );
    expect(result.stdout).toBe('disconnected teacher-1 (1 service instance held a socket)\n');
    await waitFor(() =>
      subscriber.messages.some((m) => m.message.includes('"event":"ws.disconnect"')),
    );
  });

  it('type-check a consumer: a wrong payload fails to compile there too', async () => {
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          // Borrowed from the monorepo so the check needs nothing more from the registry.
          typeRoots: [join(repoRoot, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['check.ts'],
      }),
    );
    await writeFile(
      join(app, 'check.ts'),
      `import { createNotifier, type NotifierError, type PublishResult } from '@huleedu/notify';
const notifier = createNotifier({ redis: 'redis://127.0.0.1:6379', history: { maxLength: 50 } });
export const ok: Promise<PublishResult> = notifier.publishUserNotification('t', 'class_created', {
  class_id: 'c1',
  message: 'Class created',
});
// @ts-expect-error class_id must be a string
export const bad = notifier.publishUserNotification('t', 'class_created', { class_id: 1, message: 'x' });
export type Code = NotifierError['code'];
`,
    );
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const result = await run('node', [tsc, '-p', 'tsconfig.json'], app, 60_000);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
