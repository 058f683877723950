// A private npm registry for tests: Verdaccio on 127.0.0.1 and a free port, with its storage,
// users and configuration in a folder of the caller's choosing. @huleedu packages live only
// here; everything else is fetched through to the npm registry (the one uplink).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, waitFor } from '@huleedu/test-support';
import { watchChild } from './child.js';

/** A running Verdaccio. */
export interface RegistryHandle {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** A publish token of the registry's one user. */
  readonly token: string;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** Options of {@link startRegistry}. */
export interface StartRegistryOptions {
  /** Folder for the configuration, storage and password file (created). */
  dir: string;
  /** Where packages outside @huleedu come from. Default: the npm registry. */
  uplink?: string;
}

const verdaccioBin = join(
  dirname(createRequire(import.meta.url).resolve('verdaccio/package.json')),
  'bin/verdaccio',
);

/** The Verdaccio configuration: @huleedu packages local only, the rest proxied to `uplink`. */
export function registryConfig(dir: string, uplink: string): string {
  return [
    `storage: ${JSON.stringify(join(dir, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(join(dir, 'htpasswd'))}`,
    'uplinks:',
    '  upstream:',
    `    url: ${JSON.stringify(uplink)}`,
    '    timeout: 60s',
    'packages:',
    "  '@huleedu/*':",
    '    access: $all',
    '    publish: $authenticated',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    proxy: upstream',
    'log: { type: stdout, format: json, level: warn }',
    '',
  ].join('\n');
}

/** Starts Verdaccio and creates a user; resolves once it answers with that user's token. */
export async function startRegistry(options: StartRegistryOptions): Promise<RegistryHandle> {
  const { dir, uplink = 'https://registry.npmjs.org/' } = options;
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'config.yaml');
  await writeFile(config, registryConfig(dir, uplink));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child: ChildProcess = spawn(
    process.execPath,
    // The uplink trusts the system's CA store too (where a TLS-inspecting proxy's CA is installed),
    // not only Node's bundled CAs: turbo runs tests without NODE_EXTRA_CA_CERTS.
    ['--use-openssl-ca', verdaccioBin, '--config', config, '--listen', `127.0.0.1:${port}`],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const { output, stop } = watchChild(child, 5_000, 4_000);
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`verdaccio exited ${child.exitCode}\n${output()}`);
        return (await fetch(`${url}-/ping`)).ok;
      },
      { timeoutMs: 60_000, intervalMs: 100, message: `verdaccio on ${url}\n${output()}` },
    );
    const response = await fetch(`${url}-/user/org.couchdb.user:release`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'release', password: 'release-check-password' }),
    });
    const body = (await response.json()) as { token?: string };
    if (!response.ok || typeof body.token !== 'string') {
      throw new Error(
        `verdaccio did not create a user: ${response.status} ${JSON.stringify(body)}`,
      );
    }
    return { url, token: body.token, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
