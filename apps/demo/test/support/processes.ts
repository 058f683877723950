import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@huleedu/test-support';

/** The demo's entry point, as README tells people to run it. */
export const demoServerScript = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
/** The websocket service's entry point. */
export const serviceScript = fileURLToPath(
  new URL('../../../websocket-service/dist/main.js', import.meta.url),
);

/** A node process started by {@link startNodeProcess}. */
export interface NodeProcess {
  child: ChildProcess;
  /** Everything it printed so far (last 16 KB). */
  output(): string;
  /** Resolves with the exit code once it exited. */
  exited: Promise<number | null>;
  /** SIGTERM, SIGKILL after 10 s; resolves once it exited. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `node <script>` with exactly `env` (plus PATH). With `readyLine`, resolves once a
 * printed line matches it (rejects if the process exits first or after 30 s).
 */
export async function startNodeProcess(
  script: string,
  env: Record<string, string>,
  readyLine?: RegExp,
): Promise<NodeProcess> {
  if (!existsSync(script)) {
    throw new Error(`${script} missing: build it first (npx turbo run build in the repo root)`);
  }
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-16_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const handle: NodeProcess = {
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  if (readyLine) {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`${script} exited: ${output}`);
        return readyLine.test(output);
      },
      { timeoutMs: 30_000, message: `${script} ready (${readyLine})` },
    );
  }
  return handle;
}
