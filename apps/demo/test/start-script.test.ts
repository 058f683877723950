import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { freePort, repositoryRoot } from '@huleedu/test-support';
import { afterEach, describe, expect, it } from 'vitest';

// scripts/start.sh, the README's first command, with one of its two ports already taken.
const root = repositoryRoot();

interface ScriptRun {
  code: number | null;
  output: string;
}

function runStartScript(env: Record<string, string>): Promise<ScriptRun> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['scripts/start.sh'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a hung run can be stopped whole
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGTERM'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

let occupied: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (occupied ? occupied.close(resolve) : resolve(undefined)));
  occupied = undefined;
});

async function occupyPort(): Promise<number> {
  const port = await freePort();
  occupied = createServer();
  await new Promise<void>((resolve) => occupied?.listen(port, '127.0.0.1', resolve));
  return port;
}

describe('scripts/start.sh with a port already taken', () => {
  it('names WEBSOCKET_SERVICE_PORT and prints no URL when the service port is taken', async () => {
    const servicePort = await occupyPort();
    const run = await runStartScript({
      WEBSOCKET_SERVICE_PORT: String(servicePort),
      DEMO_PORT: String(await freePort()),
    });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`127.0.0.1:${servicePort} is not available (EADDRINUSE)`);
    expect(run.output).toContain('WEBSOCKET_SERVICE_PORT=<port> bash scripts/start.sh');
    expect(run.output).not.toContain('ws://');
    expect(run.output).not.toContain('demo page:');
  });

  it('names DEMO_PORT when the demo port is taken', async () => {
    const demoPort = await occupyPort();
    const run = await runStartScript({
      WEBSOCKET_SERVICE_PORT: String(await freePort()),
      DEMO_PORT: String(demoPort),
    });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`cannot start the demo page: 127.0.0.1:${demoPort}`);
    expect(run.output).toContain('DEMO_PORT=<port> bash scripts/start.sh');
    expect(run.output).not.toContain('http://127.0.0.1');
  });
});
