import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { signToken } from '@huleedu/auth';
import { TEST_SECRET, waitFor } from '@huleedu/test-support';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserStackPerFile,
  publishResultsDurably,
  serveFiles,
  serviceMetric,
} from './harness.js';

const running = browserStackPerFile();

/** Bundles the React test app against `react` / `react-dom` installed under those aliases. */
async function bundleApp(react: string, reactDom: string): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./react-app.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    alias: { react, 'react-dom': reactDom },
    define: { 'process.env.NODE_ENV': '"development"' },
  });
  return result.outputFiles[0]!.text;
}

/** A line of the service's /metrics, as a number. */
const metric = (name: string) => serviceMetric(running(), name);

type AppLog = {
  received: string[][];
  typed: { batch_id: string; results_count: number; message: string; category: string }[];
  states: string[];
  listLengths: number[];
  leader: boolean | undefined;
  tokenRequests: number;
  reactVersion: string;
};
const appLog = (page: Page) =>
  page.evaluate(() => (window as unknown as { app: { log: AppLog } }).app.log);

for (const [version, react, reactDom] of [
  ['18', 'react18', 'react-dom18'],
  ['19', 'react19', 'react-dom19'],
] as const) {
  describe(`React ${version} bindings in Chromium (StrictMode, 20 components)`, () => {
    let server: Server;
    let pageUrl: string;
    beforeAll(async () => {
      ({ url: pageUrl, server } = await serveFiles({
        '/': {
          type: 'text/html',
          body: '<!doctype html><div id="root"></div><script src="/app.js"></script>',
        },
        '/app.js': { type: 'text/javascript', body: await bundleApp(react, reactDom) },
      }));
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    });

    it('holds one socket, types the data, keeps it across a new getToken, closes on unmount', async () => {
      const stack = running();
      const user = `teacher-react-${version}`;
      const context = await stack.browser.newContext();
      const page = await context.newPage();
      await page.exposeFunction('issueToken', () =>
        signToken(user, { secret: TEST_SECRET, expiresInSeconds: 3600 }),
      );
      await page.goto(pageUrl);
      await publishResultsDurably(stack, user, 'before-0');
      const acceptedBefore = await metric('huleedu_ws_connections_accepted_total');
      await page.evaluate(
        (url) => (window as unknown as { app: { mount(u: string): void } }).app.mount(url),
        stack.service.url,
      );
      await waitFor(async () => (await appLog(page)).states.includes('open'), {
        timeoutMs: 20_000,
        message: 'the provider open',
      });
      await waitFor(async () => (await metric('huleedu_ws_connections')) === 1, {
        message: 'one socket',
      });
      // StrictMode mounted the provider twice: one socket was ever opened.
      const accepted = await metric('huleedu_ws_connections_accepted_total');
      expect(accepted).toBe(acceptedBefore + 1);
      expect((await appLog(page)).reactVersion.split('.')[0]).toBe(version);

      const ids = ['react-1', 'react-2', 'react-3'];
      for (const id of ids) await publishResultsDurably(stack, user, id);
      const everyone = ['before-0', ...ids];
      await waitFor(
        async () => (await appLog(page)).received.every((got) => got.length >= everyone.length),
        { timeoutMs: 20_000, message: 'every component got every notification' },
      );
      let log = await appLog(page);
      // Each of the 20 handlers ran once per notification despite StrictMode's double mount.
      for (const got of log.received) expect(got).toEqual(everyone);
      expect(log.typed.at(-1)).toMatchObject({
        batch_id: 'react-3',
        results_count: 12,
        message: 'Results for react-3 are ready',
        category: 'processing_results',
      });
      // The list started from `recent` (the notification published before mounting) and grew live.
      expect(log.listLengths.at(-1)).toBe(everyone.length);
      expect(log.leader).toBe(true);

      await page.evaluate(() =>
        (window as unknown as { app: { rerender(): void } }).app.rerender(),
      );
      await publishResultsDurably(stack, user, 'react-4');
      await waitFor(async () => (await appLog(page)).received[19]!.includes('react-4'), {
        message: 'react-4 after the re-render',
      });
      log = await appLog(page);
      expect(log.states).toEqual(['idle', 'connecting', 'open']);
      expect(await metric('huleedu_ws_connections_accepted_total')).toBe(accepted);
      expect(await metric('huleedu_ws_connections')).toBe(1);

      await page.evaluate(() => (window as unknown as { app: { unmount(): void } }).app.unmount());
      await waitFor(async () => (await metric('huleedu_ws_connections')) === 0, {
        message: 'the socket closed on unmount',
      });
      await context.close();
    });
  });
}
