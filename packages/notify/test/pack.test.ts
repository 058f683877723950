// The packages as a backend outside this monorepo gets them: packed tarballs installed with npm
// into a fresh project in the OS temp dir, then imported, run and type-checked there.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type RedisHandle,
  runCommand,
  startRedis,
  succeed as succeedCommand,
  waitFor,
} from '@huleedu/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordingSubscriber, recordingSubscriber } from './subscriber.js';

const packages = fileURLToPath(new URL('../..', import.meta.url));
const repoRoot = join(packages, '..');
const packed = ['protocol', 'notify'];

// Besides the network settings, keep what says which registry and user config npm reads (a CI
// mirror): the packed tarballs' dependencies come from there.
const npmSettingsToKeep =
  /^npm_config_(registry|cafile|ca|cert|key|strict_ssl|proxy|https_proxy|http_proxy|noproxy|cache|userconfig)$/i;

/** Runs a command to completion; rejects with its output when it exits non-zero. */
function succeed(command: string, args: string[], cwd: string, timeoutMs = 60_000) {
  return succeedCommand(command, args, { cwd, timeoutMs, keepNpmSettings: npmSettingsToKeep });
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
    const result = await runCommand('node', [tsc, '-p', 'tsconfig.json'], {
      cwd: app,
      timeoutMs: 60_000,
      keepNpmSettings: npmSettingsToKeep,
    });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
