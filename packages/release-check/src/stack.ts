// The local stack exactly as a newcomer starts it: `bash scripts/start.sh`, with its ports moved
// to free ones through the variables the script documents, and its defaults (secret, demo user)
// left alone.
import { type ChildProcess, spawn } from 'node:child_process';
import { cleanEnvironment, freePort, repositoryRoot, waitFor } from '@huleedu/test-support';
import { watchChild } from './child.js';

const repoRoot = repositoryRoot();

/** The ports a started stack listens on, in place of the documented 8080, 6379 and 3000. */
export interface StackPorts {
  service: number;
  redis: number;
  demo: number;
}

/** A stack started by scripts/start.sh. */
export interface StackHandle {
  readonly ports: StackPorts;
  /** What the script and its processes printed so far (the last 20,000 characters). */
  output(): string;
  /** SIGTERM to the script, which stops what it started; SIGKILL to all of it after 15 s. */
  stop(): Promise<void>;
}

/** Runs scripts/start.sh on free ports; resolves once it says both the service and demo listen. */
export async function startStack(): Promise<StackHandle> {
  const ports: StackPorts = {
    service: await freePort(),
    redis: await freePort(),
    demo: await freePort(),
  };
  const env = cleanEnvironment();
  delete env['JWT_SECRET_KEY'];
  delete env['DEMO_USER_ID'];
  const child: ChildProcess = spawn('bash', ['scripts/start.sh'], {
    cwd: repoRoot,
    env: {
      ...env,
      WEBSOCKET_SERVICE_PORT: String(ports.service),
      DEMO_PORT: String(ports.demo),
      WEBSOCKET_REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The script stops what it started on SIGTERM; if it hangs, SIGKILL goes to its whole group.
  const watched = watchChild(child, 15_000, 20_000);
  const output = watched.output;
  const stop = async () => {
    const kill = setTimeout(() => signalGroup(child, 'SIGKILL'), 20_000);
    await watched.stop();
    clearTimeout(kill);
  };
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) {
          throw new Error(`scripts/start.sh exited ${child.exitCode}\n${output()}`);
        }
        return output().includes('demo page:');
      },
      { timeoutMs: 180_000, intervalMs: 100, message: `scripts/start.sh ready\n${output()}` },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports, output, stop };
}

/** Signals a detached child's whole process group; a group already gone is fine. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group has exited
  }
}
