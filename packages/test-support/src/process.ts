import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { forgetOnExit, killOnExit } from './exit-hook.js';
import { waitFor } from './wait.js';

/** How a process started by {@link startNodeProcess} ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of {@link startNodeProcess}. */
export interface NodeProcessOptions {
  /** The environment, exactly: nothing of the test's own is inherited but `PATH`. */
  env?: Record<string, string | undefined>;
  /** Node flags before the script, e.g. `['--max-semi-space-size=4']`. */
  execArgv?: readonly string[];
  /** A command that execs node, e.g. `['prlimit', '--nofile=64:64']` (the pid stays node's). */
  wrapper?: readonly string[];
  cwd?: string;
  uid?: number;
  gid?: number;
  /**
   * Own process group: SIGKILL goes to the whole group, so a server's worker processes go with it
   * (other signals go to the leader, which manages its workers), and whatever is left of the group
   * is killed once the leader exits.
   */
  detached?: boolean;
  /** `pipe` keeps stdin open (a child can watch it end to exit with its parent); default `ignore`. */
  stdin?: 'ignore' | 'pipe';
  /** Resolve once a line the process printed on stdout matches this (a pattern or a test). */
  readyLine?: RegExp | ((line: string) => boolean);
  /** Resolve once this returns true (checked every 50 ms), instead of or after `readyLine`. */
  ready?: () => boolean | Promise<boolean>;
  /** What to call it in errors (default: the script's path). */
  name?: string;
  /** What being ready means, for errors (default `it was ready`). */
  readyLabel?: string;
  /** How long it may take to be ready, ms (default 30 s). */
  readyTimeoutMs?: number;
  /** How long `stop` waits after its signal before SIGKILL, ms (default 10 s). */
  killAfterMs?: number;
  /** Characters of output kept for {@link NodeProcess.output} (default: all of it). */
  outputLimit?: number;
  /** Called with each child right after it is spawned (e.g. to register it for clean-up). */
  onSpawn?: (child: ChildProcess) => void;
}

/** A running `node <script>` started by {@link startNodeProcess}. */
export interface NodeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** What it printed on stdout and stderr so far. */
  output(): string;
  /** What it printed on stdout so far (bounded like {@link output}). */
  stdout(): string;
  /** Resolves once it exited and its output is drained. */
  readonly exited: Promise<ProcessExit>;
  /** Sends a signal (SIGKILL to the whole group when detached). */
  signal(signal: NodeJS.Signals): void;
  /**
   * Sends `signal` (default SIGTERM; SIGCONT first, since a stopped process cannot act on it),
   * then SIGKILL after `killAfterMs`; resolves once it exited. Safe to call twice.
   */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function kill(child: ChildProcess, signal: NodeJS.Signals, detached: boolean): void {
  if (child.pid === undefined) return;
  const group = detached && signal === 'SIGKILL';
  try {
    if (group) process.kill(-child.pid, signal);
    else if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  } catch {
    // Already gone.
  }
}

/**
 * Starts `node <script>` with exactly `options.env` (plus `PATH`) and resolves once it is ready
 * (`readyLine` printed, `ready()` true); rejects with its output when it exits first or takes
 * longer than `readyTimeoutMs`. Every process still running when the test process exits is
 * killed.
 */
export async function startNodeProcess(
  script: string,
  options: NodeProcessOptions = {},
): Promise<NodeProcess> {
  if (!existsSync(script)) {
    throw new Error(`${script} is missing: build it first (pnpm build in the repository root)`);
  }
  const group = options.detached ?? false;
  const limit = options.outputLimit ?? Number.POSITIVE_INFINITY;
  const command = [
    ...(options.wrapper ?? []),
    process.execPath,
    ...(options.execArgv ?? []),
    script,
  ];
  const child = spawn(command[0]!, command.slice(1), {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    detached: group,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  child.stdin?.on('error', () => undefined);
  // A command that cannot start (a missing wrapper, a bad cwd) reports here, not as an exit.
  child.on('error', (error) => {
    output += `\n${error.message}`;
  });
  killOnExit(child, (running) => kill(running, 'SIGKILL', group));
  options.onSpawn?.(child);

  let output = '';
  let stdout = '';
  let partial = '';
  let sawReadyLine = options.readyLine === undefined;
  const keep = (text: string): string => (text.length > limit ? text.slice(-limit) : text);
  const scan = (chunk: string): void => {
    if (sawReadyLine) return;
    partial += chunk;
    const lines = partial.split('\n');
    partial = (lines.pop() ?? '').slice(-100_000);
    const ready = options.readyLine;
    const matches = typeof ready === 'function' ? ready : (line: string) => ready?.test(line);
    if (lines.some(matches)) sawReadyLine = true;
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout = keep(stdout + chunk);
    output = keep(output + chunk);
    scan(chunk);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output = keep(output + chunk);
  });
  child.once('exit', () => {
    // A group can outlive its leader (orphaned workers): the group goes with it.
    if (group) kill(child, 'SIGKILL', true);
  });
  // 'close', not 'exit': it fires once stdout and stderr are drained, so the last lines are in.
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('close', (code, signal) => {
      forgetOnExit(child);
      resolve({ code, signal });
    });
  });

  const handle: NodeProcess = {
    child,
    pid: child.pid ?? 0,
    output: () => output,
    stdout: () => stdout,
    exited,
    signal: (signal) => kill(child, signal, group),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        kill(child, 'SIGCONT', group);
        kill(child, signal, group);
        const timer = setTimeout(
          () => kill(child, 'SIGKILL', group),
          options.killAfterMs ?? 10_000,
        );
        await exited;
        clearTimeout(timer);
      } else {
        await exited;
      }
    },
  };

  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const name = options.name ?? script;
  const readyLabel = options.readyLabel ?? 'it was ready';
  let starting = true;
  try {
    await Promise.race([
      waitFor(
        async () =>
          !starting || (sawReadyLine && (options.ready === undefined || (await options.ready()))),
        { timeoutMs, intervalMs: 50, message: `${name}: ${readyLabel}` },
      ),
      exited.then(({ code, signal }) => {
        if (starting) throw new Error(`${name} exited with ${code ?? signal} before ${readyLabel}`);
      }),
    ]);
  } catch (error) {
    kill(child, 'SIGKILL', group);
    throw new Error(`${(error as Error).message}\n--- ${name} output ---\n${output.trim()}`);
  } finally {
    starting = false;
  }
  return handle;
}
