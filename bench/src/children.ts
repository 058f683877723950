import type { ChildProcess } from 'node:child_process';

/**
 * Every child process the bench starts, so that none outlives it: on normal exit, on an uncaught
 * error and on Ctrl-C, each is killed. Servers run in their own process group (`detached`) and are
 * killed as a group, which takes their worker processes along.
 */
const live = new Map<ChildProcess, { group: boolean }>();
let hooked = false;

function killEverything(): void {
  for (const [child, { group }] of live) killChild(child, 'SIGKILL', group);
  live.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killEverything);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killEverything();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Sends `signal` to a child, or to its whole process group when it leads one. */
export function killChild(child: ChildProcess, signal: NodeJS.Signals, group: boolean): void {
  if (child.pid === undefined) return;
  // A group can outlive its leader (orphaned workers), so a group is signalled even then.
  if (!group && (child.exitCode !== null || child.signalCode !== null)) return;
  try {
    if (group) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // Already gone: nothing left to kill.
  }
}

/**
 * Registers a child to be killed when the bench exits; forgotten once it exits. When a group
 * leader exits, whatever is left of its group is killed: a server is its whole group.
 */
export function track(child: ChildProcess, options: { group?: boolean } = {}): void {
  hook();
  const group = options.group ?? false;
  live.set(child, { group });
  child.once('exit', () => {
    live.delete(child);
    if (group) killChild(child, 'SIGKILL', true);
  });
}

/** Children still running (for tests that check nothing leaked). */
export function liveChildren(): number {
  return live.size;
}
