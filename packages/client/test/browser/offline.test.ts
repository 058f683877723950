import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserStack,
  openTab,
  publishResults,
  startBrowserStack,
  waitForResults,
} from './harness.js';

let stack: BrowserStack;
beforeAll(async () => {
  stack = await startBrowserStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('offline and online in Chromium', () => {
  it('waits while offline and reconnects soon (spread) when the network is back', async () => {
    const context = await stack.browser.newContext();
    // A 60 s backoff: only the online event can explain a prompt reconnect.
    const tab = await openTab(stack, context, {
      userId: 'teacher-offline',
      client: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    await tab.waitForState('open');
    await context.setOffline(true);
    await tab.waitForState('reconnecting');
    const offline = (await tab.log()).states.at(-1);
    expect(offline?.info.offline).toBe(true);
    const attemptsWhileOffline = (await tab.log()).tokenRequests.length;

    const backOnlineAt = Date.now();
    await context.setOffline(false);
    await tab.waitForState('open', 10_000);
    const log = await tab.log();
    const reopened = log.states.at(-1)!;
    expect(log.states.at(-3)?.info.delayMs).toBeLessThanOrEqual(3_000);
    expect(reopened.at - backOnlineAt).toBeLessThan(5_000);
    // No attempt was made while offline: exactly one token request for the reconnect.
    expect(log.tokenRequests.length).toBe(attemptsWhileOffline + 1);
    // Offline, then back online: a short random wait (spread), not the 60 s backoff.
    expect(log.states.map((s) => s.state)).toEqual([
      'connecting',
      'open',
      'reconnecting',
      'reconnecting',
      'connecting',
      'open',
    ]);

    await publishResults(stack, 'teacher-offline', 'after-offline');
    await waitForResults(tab, 'after-offline');
    await context.close();
  });
});
