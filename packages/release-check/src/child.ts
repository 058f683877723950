// Watching a long-running child process a test started: its recent output, and stopping it.
import type { ChildProcess } from 'node:child_process';

/** A started child process's recent output and a way to stop it. */
export interface WatchedChild {
  /** What it printed on stdout and stderr so far (the last `keepChars` characters). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** Collects `child`'s output and gives it a stop that waits for the exit. */
export function watchChild(child: ChildProcess, graceMs: number, keepChars = 8_000): WatchedChild {
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-keepChars);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(kill);
  };
  return { output: () => output, stop };
}
