// Running a command (npm, pnpm, a script) from inside a test run, the way a person at a shell
// would: without the settings pnpm exports for its own scripts, killed if it outlives its time.
import { spawn } from 'node:child_process';

/** What a finished command printed and how it exited. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCommand}. */
export interface RunOptions {
  cwd: string;
  /** Added to the cleaned environment (see {@link cleanEnvironment}). */
  env?: Record<string, string>;
  /** Which `npm_config_*` settings survive the cleaning; default {@link networkSettings}. */
  keepNpmSettings?: RegExp;
  /** Killed (SIGKILL) and rejected after this long. Default 120 s. */
  timeoutMs?: number;
}

/**
 * The `npm_config_*` settings that say how to reach the network (CA, proxy) and where the cache
 * is. Under `pnpm test`, pnpm exports its whole configuration as npm_config_* (its registry,
 * global and user config, lockfile and script settings), which a child npm or pnpm would read as
 * its own; only these are worth keeping by default.
 */
export const networkSettings =
  /^npm_config_(cafile|ca|cert|key|strict_ssl|proxy|https_proxy|http_proxy|noproxy|cache)$/i;

/**
 * The test process's environment without what pnpm exported for its own scripts (`pnpm_*`, and
 * `npm_*` except the settings `keep` matches), so a child npm or pnpm reads its .npmrc files.
 */
export function cleanEnvironment(keep: RegExp = networkSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^pnpm_/i.test(key)) continue;
    if (/^npm_/i.test(key) && !keep.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/** Runs a command to completion; resolves with its output whatever its exit code. */
export function runCommand(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<CommandResult> {
  const { cwd, env = {}, timeoutMs = 120_000, keepNpmSettings } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...cleanEnvironment(keepNpmSettings), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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

/** {@link runCommand}, rejecting with the command's output when it exits non-zero. */
export async function succeed(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<CommandResult> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code} in ${options.cwd}\n` +
        `${result.stdout.slice(-4_000)}\n${result.stderr.slice(-4_000)}`,
    );
  }
  return result;
}
