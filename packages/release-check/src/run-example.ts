// Runs one Markdown example against a started stack, as a reader would paste it: TypeScript and
// JavaScript through node, shell through bash, Python through python3, and a bare Redis command
// through redis-cli. The documented ports are moved to the stack's (see localizeExample).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnvironment, repositoryRoot } from '@huleedu/test-support';
import ts from 'typescript';
import { type DocExample, type ExamplePorts, localizeExample } from './examples.js';

const repoRoot = repositoryRoot();
/** Inside this package, so the examples' `@huleedu/*` imports resolve to the workspace's builds. */
const scratch = fileURLToPath(new URL('../.tmp/examples', import.meta.url));

/** What an example printed and how it exited. */
export interface ExampleRun {
  code: number | null;
  output: string;
}

/** The language an example is run as, or undefined when it is not runnable code. */
export function exampleRunner(
  example: DocExample,
): 'node' | 'bash' | 'python' | 'redis' | undefined {
  if (/^(ts|typescript|js|javascript|mjs)$/.test(example.lang)) return 'node';
  if (/^(sh|bash|shell)$/.test(example.lang)) return 'bash';
  if (/^(py|python)$/.test(example.lang)) return 'python';
  if (example.lang === '' && /^[A-Z]+ /.test(example.code.trim())) return 'redis';
  return undefined;
}

/**
 * Runs `example` in its folder with `env` added (the stack's secret, Redis URL): resolves when its
 * main process exits, then stops what it left in the background. Killed after `timeoutMs`.
 */
export async function runExample(
  example: DocExample,
  ports: ExamplePorts,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ExampleRun> {
  const runner = exampleRunner(example);
  if (runner === undefined) {
    throw new Error(`${example.file}:${example.line}: no runner for a \`${example.lang}\` block`);
  }
  await mkdir(scratch, { recursive: true });
  const code = localizeExample(example.code, ports);
  const name = `${example.file.replace(/[^A-Za-z0-9]+/g, '-')}-${example.line}`;
  const bin = join(scratch, 'bin');
  await writeCommandLine(bin);
  const redisCli = `redis-cli() { command redis-cli -p ${ports.redis} "$@"; }\n`;
  let command: string[];
  if (runner === 'node') {
    const file = join(scratch, `${name}.mjs`);
    const options = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 };
    await writeFile(file, ts.transpileModule(code, { compilerOptions: options }).outputText);
    command = [process.execPath, file];
  } else if (runner === 'python') {
    const file = join(scratch, `${name}.py`);
    await writeFile(file, code);
    command = [existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', file];
  } else {
    const script = runner === 'bash' ? code : `redis-cli ${code.trim()}`;
    const file = join(scratch, `${name}.sh`);
    await writeFile(file, `set -euo pipefail\n${redisCli}${script}\n`);
    command = ['bash', file];
  }
  return spawnExample(
    command,
    join(repoRoot, example.cwd),
    {
      ...cleanEnvironment(),
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      // Python examples import huleedu_notify as a pip install from this repository provides it.
      PYTHONPATH: join(repoRoot, 'python/huleedu-notify/src'),
      ...env,
    },
    timeoutMs,
  );
}

/** `huleedu-notify` on PATH, as installing @huleedu/notify puts it there. */
async function writeCommandLine(bin: string): Promise<void> {
  await mkdir(bin, { recursive: true });
  const cli = join(repoRoot, 'packages/notify/bin/huleedu-notify.js');
  const shim = join(bin, 'huleedu-notify');
  await writeFile(shim, `#!/bin/sh\nexec node ${JSON.stringify(cli)} "$@"\n`);
  await chmod(shim, 0o755);
}

function spawnExample(
  [command, ...args]: string[],
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const stopGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // nothing left in the background
      }
    };
    const timer = setTimeout(() => {
      stopGroup();
      reject(
        new Error(`${command} ${args.join(' ')} still running after ${timeoutMs} ms\n${output}`),
      );
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${error.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      // Background jobs (a listening socket) keep the pipes open; give their output a moment.
      setTimeout(() => {
        stopGroup();
        resolve({ code, output });
      }, 500);
    });
  });
}
