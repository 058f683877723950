// The quick start agrees with itself: the docs' examples use the user the demo signs in and the
// secret `bash scripts/start.sh` starts the service with, and every example that talks to the
// local stack runs against the stack the start script brings up (on free ports) and delivers what
// it says to the demo user's client, which validates every message.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTokenVerifier } from '@huleedu/auth';
import { repositoryRoot, waitFor } from '@huleedu/test-support';
import { type ClientError, createNotificationClient } from '@huleedu/ws-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { docExamples, docFiles, unmarkedStackExamples } from '../src/examples.js';
import { exampleRunner, runExample } from '../src/run-example.js';
import { type StackHandle, startStack } from '../src/stack.js';

const repoRoot = repositoryRoot();
const examples = docExamples(repoRoot);
const runnable = examples.filter((example) => example.mark === 'run');
const markdownText = docFiles(repoRoot)
  .map((file) => readFileSync(join(repoRoot, file), 'utf8'))
  .join('\n');
/** The secret scripts/start.sh gives the service and the demo when JWT_SECRET_KEY is unset. */
const devSecret = /JWT_SECRET_KEY="([^"]+)"/.exec(
  readFileSync(join(repoRoot, 'scripts/start.sh'), 'utf8'),
)?.[1];
/** The demo's signed-in user when DEMO_USER_ID is unset. */
const demoUser = /DEMO_USER_ID: text\('([^']+)'\)/.exec(
  readFileSync(join(repoRoot, 'apps/demo/src/config.ts'), 'utf8'),
)?.[1];

describe('the docs and scripts/start.sh', () => {
  it('every example that names the local stack is run here or says why not', () => {
    expect(unmarkedStackExamples(examples)).toEqual([]);
    for (const example of examples.filter((e) => e.mark === 'skip')) {
      expect(example.reason, `${example.file}:${example.line}: a skip says why`).toBeTruthy();
    }
    for (const example of runnable) {
      expect(exampleRunner(example), `${example.file}:${example.line}`).toBeDefined();
    }
    expect(runnable.length).toBeGreaterThanOrEqual(8);
  });

  it('sign tokens and start the service with the start script secret', () => {
    expect(devSecret).toBe('huleedu-local-development-secret-0001');
    const secrets = new Set<string>();
    for (const line of markdownText.split('\n')) {
      if (/docker compose/.test(line)) continue; // compose requires a secret of your own
      for (const match of line.matchAll(/JWT_SECRET_KEY=([^\s`'"]+)|secret:\s*'([^']+)'/g)) {
        const value = match[1] ?? match[2] ?? '';
        if (!/^[$<]/.test(value)) secrets.add(value);
      }
    }
    expect([...secrets]).toEqual([devSecret]);
  });

  it('address one user, the one the demo signs in', () => {
    expect(demoUser).toBe('teacher-1');
    const users = new Set<string>();
    const addressed = [
      /\b(?:demo-)?teacher-[\w-]+/g, // a user id of the teacher-N kind
      /--user[ =]([^\s`]+)/g, // the notify command line
      /DEMO_USER_ID=([^\s`]+)/g,
      /(?:signToken|publishUserNotification|disconnectUser)\(\s*'([^']+)'/g,
    ];
    for (const pattern of addressed) {
      for (const match of markdownText.matchAll(pattern)) {
        const user = match[1] ?? match[0];
        if (!/^[$<]/.test(user)) users.add(user);
      }
    }
    expect([...users]).toEqual([demoUser]);
  });
});

describe('the examples against bash scripts/start.sh', () => {
  let stack: StackHandle;
  let demoUrl: string;
  let client: ReturnType<typeof createNotificationClient> | undefined;
  const received: string[] = [];
  const invalid: ClientError[] = [];
  let opens = 0;

  beforeAll(async () => {
    stack = await startStack();
    demoUrl = `http://127.0.0.1:${stack.ports.demo}`;
    // The demo page's own way in: a token for the demo user from POST /api/token.
    client = createNotificationClient({
      url: `ws://127.0.0.1:${stack.ports.service}/ws`,
      getToken: async () => {
        const response = await fetch(`${demoUrl}/api/token`, { method: 'POST' });
        return ((await response.json()) as { token: string }).token;
      },
      WebSocket,
      initialDelayMs: 100,
      maxDelayMs: 1_000,
      // Two examples cut the user off a moment apart; a connection open this long counts as
      // stable, so the second cut-off is met with a prompt fresh token, not the long auth backoff.
      stableAfterMs: 100,
    });
    client.onAny((message) => received.push(message.event));
    client.onError((error) => {
      if (error.code === 'invalid_message') invalid.push(error);
    });
    client.onStateChange((state) => {
      if (state === 'open') opens++;
    });
    client.connect();
    await waitFor(() => client?.state === 'open', { timeoutMs: 20_000, message: 'client open' });
  }, 240_000);

  afterAll(async () => {
    client?.close();
    await stack?.stop();
  });

  it("the demo's tokens are for that user and signed with that secret", async () => {
    const response = await fetch(`${demoUrl}/api/token`, { method: 'POST' });
    const { token, userId } = (await response.json()) as { token: string; userId: string };
    expect(userId).toBe('teacher-1');
    expect(createTokenVerifier({ secret: devSecret ?? '' }).verify(token).userId).toBe('teacher-1');
  });

  // Cutting the user off goes last, so the publishing examples meet an open client.
  const ordered = [
    ...runnable.filter((example) => !disconnects(example.code)),
    ...runnable.filter((example) => disconnects(example.code)),
  ];
  it.each(ordered.map((example) => [`${example.file}:${example.line}`, example] as const))(
    '%s runs and is received',
    async (_, example) => {
      const publishedBefore = received.length;
      const opensBefore = opens;
      const run = await runExample(example, stack.ports, {
        JWT_SECRET_KEY: devSecret ?? '',
        WEBSOCKET_REDIS_URL: `redis://127.0.0.1:${stack.ports.redis}`,
      });
      expect(run.code, run.output).toBe(0);
      if (publishes(example.code)) {
        await waitFor(() => received.length > publishedBefore, {
          message: `a notification from ${example.file}:${example.line} at the demo user's client`,
        });
      }
      if (disconnects(example.code)) {
        await waitFor(() => opens > opensBefore && client?.state === 'open', {
          timeoutMs: 20_000,
          message: `the client cut off by ${example.file}:${example.line} back with a new token`,
        });
      }
    },
  );

  it('every message the examples published passed the client validation', () => {
    expect(invalid.map((error) => error.message)).toEqual([]);
    expect(received.length).toBeGreaterThan(0);
  });
});

/** The example publishes a notification for the user. */
function publishes(code: string): boolean {
  return /publishUserNotification\(|PUBLISH ws:|EVALSHA|huleedu-notify(?![^\n]*--disconnect)[^\n]*--(?:type|raw-event)/.test(
    code,
  );
}

/** The example cuts the user off. */
function disconnects(code: string): boolean {
  return /--disconnect|disconnectUser\(/.test(code);
}
