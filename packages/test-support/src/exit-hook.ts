import type { ChildProcess } from 'node:child_process';

/** What to do with one child when the test process exits. */
type Killer = (child: ChildProcess) => void;

const key = Symbol.for('@huleedu/test-support:children');

/**
 * The children to kill when the test process exits, with how to kill each. Kept on `globalThis`
 * with one `exit` listener: vitest evaluates this package again for every test file of a worker
 * process, and a listener per evaluation would pile up.
 */
function children(): Map<ChildProcess, Killer> {
  const global = globalThis as { [key]?: Map<ChildProcess, Killer> };
  let map = global[key];
  if (map === undefined) {
    const created = new Map<ChildProcess, Killer>();
    process.once('exit', () => {
      for (const [child, killer] of created) killer(child);
    });
    global[key] = created;
    map = created;
  }
  return map;
}

/** Kills `child` with `killer` if it still runs when the test process exits. */
export function killOnExit(child: ChildProcess, killer: Killer): void {
  children().set(child, killer);
}

/** Forgets a child that exited. */
export function forgetOnExit(child: ChildProcess): void {
  children().delete(child);
}
