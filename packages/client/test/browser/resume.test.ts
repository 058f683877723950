import { waitFor } from '@huleedu/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserStack,
  openTab,
  publishResultsDurably,
  startBrowserStack,
  type Tab,
} from './harness.js';

// The delivery guarantee as a teacher sees it: a real service with history, real Redis, durable
// publishes (the publish script), a page in Chromium.
let stack: BrowserStack;
beforeAll(async () => {
  stack = await startBrowserStack();
});
afterAll(async () => {
  await stack?.close();
});

const batchIds = async (tab: Tab) => (await tab.log()).typed.map((entry) => entry.data.batch_id);

describe('nothing lost in Chromium', () => {
  it('shows all 20 notifications published during 10 s offline, in order, once, when it comes back', async () => {
    const user = 'teacher-offline-resume';
    const context = await stack.browser.newContext();
    const tab = await openTab(stack, context, { userId: user });
    await tab.waitForState('open');
    await publishResultsDurably(stack, user, 'before');
    await waitFor(async () => (await batchIds(tab)).includes('before'), {
      timeoutMs: 20_000,
      message: 'the notification published before going offline',
    });

    // DevTools network emulation: the page's network is gone (its socket too) for 10 s.
    const devtools = await context.newCDPSession(tab.page);
    await devtools.send('Network.enable');
    const offline = (value: boolean) =>
      devtools.send('Network.emulateNetworkConditions', {
        offline: value,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
    await offline(true);
    await tab.waitForState('reconnecting', 10_000);
    const wentOfflineAt = Date.now();
    const published: string[] = [];
    for (let i = 1; i <= 20; i++) {
      const batch = `offline-${String(i).padStart(2, '0')}`;
      await publishResultsDurably(stack, user, batch);
      published.push(batch);
      // Spread over the 10 s the page stays offline.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, wentOfflineAt + i * 500 - Date.now())),
      );
    }
    expect(await batchIds(tab)).toEqual(['before']); // nothing reached the page while offline
    expect(await tab.state()).not.toBe('open');

    await offline(false);
    await waitFor(async () => (await batchIds(tab)).length >= 21, {
      timeoutMs: 30_000,
      intervalMs: 200,
      message: 'the 20 notifications published while offline, in the page',
    });
    // Time for any duplicate to show up before judging "once".
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const log = await tab.log();
    expect(log.typed.map((entry) => entry.data.batch_id)).toEqual(['before', ...published]);
    expect(log.deliveries.map((d) => d.position)).toEqual(
      Array.from({ length: 21 }, (_, i) => i + 1),
    );
    expect(log.deliveries.slice(1).every((d) => d.replayed)).toBe(true);
    expect(log.deliveries[0]?.replayed).toBe(false);
    expect(log.resyncs).toEqual([]);
    expect(log.errors).toEqual([]);
    expect(await tab.state()).toBe('open');
    await context.close();
  });

  it('paints a new tab from history with recent: the last N, marked replayed, then live', async () => {
    const user = 'teacher-first-paint';
    for (let i = 1; i <= 6; i++) await publishResultsDurably(stack, user, `old-${i}`);
    const context = await stack.browser.newContext();
    const tab = await openTab(stack, context, { userId: user, client: { recent: 4 } });
    await waitFor(async () => (await batchIds(tab)).length === 4, {
      timeoutMs: 20_000,
      message: 'the last 4 notifications in the new tab',
    });
    await publishResultsDurably(stack, user, 'live-7');
    await waitFor(async () => (await batchIds(tab)).includes('live-7'), { timeoutMs: 20_000 });
    const log = await tab.log();
    expect(log.typed.map((entry) => entry.data.batch_id)).toEqual([
      'old-3',
      'old-4',
      'old-5',
      'old-6',
      'live-7',
    ]);
    expect(log.deliveries.map((d) => d.replayed)).toEqual([true, true, true, true, false]);
    await context.close();
  });
});
