import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { signToken } from '@huleedu/auth';
import { createNotificationEnvelope, createNotifier, type Notifier } from '@huleedu/notify';
import {
  createDurablePublisher,
  type DurablePublisher,
  launchChromium,
  type RedisHandle,
  type ServiceProcess,
  startRedis,
  startService,
  TEST_SECRET,
  waitFor,
} from '@huleedu/test-support';
import type { NotificationData } from '@huleedu/ws-protocol';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type {
  ConnectionState,
  Delivery,
  NotificationClientOptions,
  ResyncData,
  StateInfo,
  TabsInfo,
  TokenContext,
} from '../../src/index.js';

/** Bundles the built client (dist) for the browser, as a global `HuleeduWsClient`. */
async function bundleClient(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../../dist/index.js', import.meta.url))],
    bundle: true,
    minify: true,
    format: 'iife',
    globalName: 'HuleeduWsClient',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** One file served by {@link serveFiles}: its content type and body. */
export interface ServedFile {
  type: string;
  body: string;
}

/** Serves `files` (by path) on 127.0.0.1; resolves to the base url and the server. */
export async function serveFiles(
  files: Record<string, ServedFile>,
): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const file = files[request.url ?? ''];
    if (file) response.writeHead(200, { 'content-type': file.type }).end(file.body);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/`, server };
}

/** Serves the test page and the client bundle on 127.0.0.1; resolves to the page's url. */
async function servePage(): Promise<{ url: string; server: Server }> {
  return serveFiles({
    '/client.js': { type: 'text/javascript', body: await bundleClient() },
    '/': { type: 'text/html', body: readFileSync(new URL('./page.html', import.meta.url), 'utf8') },
  });
}

/** Real Redis, a real service process, the test page server and Chromium. */
export interface BrowserStack {
  redis: RedisHandle;
  service: ServiceProcess;
  notifier: Notifier;
  /** Publishes positioned messages (the durable publish script), as the delivery guarantee does. */
  durable: DurablePublisher;
  browser: Browser;
  pageUrl: string;
  close(): Promise<void>;
}

/** Starts the whole stack; `serviceEnv` adds service settings (e.g. clock tolerance). */
export async function startBrowserStack(
  serviceEnv: Record<string, string> = {},
): Promise<BrowserStack> {
  const redis = await startRedis();
  const service = await startService({
    redisUrl: redis.url,
    env: { WEBSOCKET_PING_INTERVAL: '5', ...serviceEnv },
  });
  const notifier = createNotifier({ redis: redis.url });
  const durable = createDurablePublisher(redis.url);
  const { url: pageUrl, server } = await servePage();
  const browser = await launchChromium();
  return {
    redis,
    service,
    notifier,
    durable,
    browser,
    pageUrl,
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await notifier.close();
      await durable.close();
      await service.stop();
      await redis.stop();
    },
  };
}

/**
 * Starts the stack before the file's tests and stops it after them; the returned function gives
 * the running stack.
 */
export function browserStackPerFile(serviceEnv: Record<string, string> = {}): () => BrowserStack {
  let stack: BrowserStack | undefined;
  beforeAll(async () => {
    stack = await startBrowserStack(serviceEnv);
  });
  afterAll(async () => {
    await stack?.close();
  });
  return () => {
    if (!stack) throw new Error('the browser stack is not running (use it inside a test)');
    return stack;
  };
}

/** A sample of the stack's service `/metrics` by name (e.g. `huleedu_ws_connections`), 0 if absent. */
export async function serviceMetric(stack: BrowserStack, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stack.service.port}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** What the page recorded (see page.html). */
export interface PageLog {
  states: { state: ConnectionState; info: StateInfo; at: number }[];
  errors: { code: string; message: string; at: number }[];
  messages: { event: string; data: Record<string, unknown> }[];
  /** How each of `messages` came (same index). */
  deliveries: Delivery[];
  resyncs: ResyncData[];
  typed: { event: string; data: NotificationData<'batch_results_ready'> }[];
  tokenRequests: (TokenContext & { at: number })[];
  /** How the tab shares its connection (undefined: it has a socket of its own). */
  tabs: TabsInfo | undefined;
  /** Every change of `tabs`, with when it happened (epoch ms). */
  tabsChanges: (Partial<TabsInfo> & { at: number })[];
}

/** One browser tab running the client. */
export interface Tab {
  page: Page;
  log(): Promise<PageLog>;
  state(): Promise<ConnectionState>;
  /** Waits until the client's state is `state`. */
  waitForState(state: ConnectionState, timeoutMs?: number): Promise<void>;
  /** Signs out and in as `userId`: closes the client and starts a new one with that user's token. */
  switchUser(userId: string): Promise<void>;
}

/** Options of {@link openTab}. */
export interface TabOptions {
  /** Whose token the tab gets; {@link Tab.switchUser} changes it. */
  userId: string;
  /** Client options (the page adds `getToken`). */
  client?: Partial<Omit<NotificationClientOptions, 'getToken' | 'WebSocket' | 'random'>>;
  /** Issues the token for a request; default: a valid one-hour token for `userId`. */
  token?: (context: TokenContext, count: number) => string;
  /** A page opened already (e.g. with an init script); default: a new page of `context`. */
  page?: Page;
}

/** Opens the test page in `context` and starts a client for `userId` against the stack's service. */
export async function openTab(
  stack: BrowserStack,
  context: BrowserContext,
  options: TabOptions,
): Promise<Tab> {
  const page = options.page ?? (await context.newPage());
  let count = 0;
  let userId = options.userId;
  const issue =
    options.token ?? (() => signToken(userId, { secret: TEST_SECRET, expiresInSeconds: 3600 }));
  await page.exposeFunction('issueToken', (tokenContext: TokenContext) =>
    issue(tokenContext, ++count),
  );
  await page.goto(stack.pageUrl);
  const start = () =>
    page.evaluate(
      (clientOptions) => {
        (window as unknown as { startClient(o: unknown): void }).startClient(clientOptions);
      },
      { url: stack.service.url, ...options.client },
    );
  await start();
  const state = () =>
    page.evaluate(() => (window as unknown as { client: { state: ConnectionState } }).client.state);
  return {
    page,
    state,
    log: () => page.evaluate(() => (window as unknown as { log: PageLog }).log),
    async switchUser(next) {
      await page.evaluate(() =>
        (window as unknown as { client: { close(): void } }).client.close(),
      );
      userId = next;
      await start();
    },
    waitForState: async (wanted, timeoutMs = 30_000) => {
      await waitFor(async () => (await state()) === wanted, {
        timeoutMs,
        intervalMs: 100,
        message: `tab of ${options.userId} in state ${wanted}`,
      });
    },
  };
}

/**
 * Publishes a `batch_results_ready` for `userId` with @huleedu/notify, retrying until a service
 * instance is subscribed (a PUBLISH nobody hears is gone; right after a reconnect the service may
 * still be subscribing).
 */
export async function publishResults(
  stack: BrowserStack,
  userId: string,
  batchId: string,
): Promise<void> {
  await waitFor(
    async () =>
      (
        await stack.notifier.publishUserNotification(userId, 'batch_results_ready', {
          batch_id: batchId,
          results_count: 12,
          message: `Results for ${batchId} are ready`,
        })
      ).receivers > 0,
    { timeoutMs: 20_000, intervalMs: 100, message: `a subscriber for ${userId}` },
  );
}

/** Waits until the tab's typed handler received the notification for `batchId`. */
export async function waitForResults(tab: Tab, batchId: string, timeoutMs = 20_000) {
  return waitFor(
    async () => (await tab.log()).typed.find((entry) => entry.data.batch_id === batchId),
    { timeoutMs, intervalMs: 100, message: `batch_results_ready ${batchId} in the page` },
  );
}

/**
 * Publishes a `batch_results_ready` for `userId` durably (history and live, with its position):
 * it is delivered live, or replayed when the tab comes back. Resolves to its position.
 */
export async function publishResultsDurably(
  stack: BrowserStack,
  userId: string,
  batchId: string,
): Promise<number> {
  const envelope = createNotificationEnvelope('batch_results_ready', {
    batch_id: batchId,
    results_count: 12,
    message: `Results for ${batchId} are ready`,
  });
  return (await stack.durable.publish(userId, envelope)).position;
}
