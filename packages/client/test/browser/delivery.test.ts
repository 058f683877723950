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

describe('delivery in Chromium', () => {
  it('calls the typed handler with the data a backend published with @huleedu/notify', async () => {
    const context = await stack.browser.newContext();
    const tab = await openTab(stack, context, { userId: 'teacher-delivery' });
    await tab.waitForState('open');
    await publishResults(stack, 'teacher-delivery', 'batch-42');
    const received = await waitForResults(tab, 'batch-42');
    expect(received.event).toBe('batch_results_ready');
    expect(received.data).toMatchObject({
      batch_id: 'batch-42',
      results_count: 12,
      message: 'Results for batch-42 are ready',
      category: 'processing_results',
      priority: 'high',
      action_required: false,
    });
    const log = await tab.log();
    expect(log.messages).toHaveLength(1);
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it("delivers to both tabs of one user and not to another user's tab", async () => {
    const alice = await stack.browser.newContext();
    const bob = await stack.browser.newContext();
    const aliceTabs = [
      await openTab(stack, alice, { userId: 'teacher-alice' }),
      await openTab(stack, alice, { userId: 'teacher-alice' }),
    ];
    const bobTab = await openTab(stack, bob, { userId: 'teacher-bob' });
    for (const tab of [...aliceTabs, bobTab]) await tab.waitForState('open');

    await publishResults(stack, 'teacher-alice', 'alice-1');
    for (const tab of aliceTabs) await waitForResults(tab, 'alice-1');
    // Bob's own notification comes after Alice's through the same service: had Alice's leaked
    // to Bob's socket, it would be in his log by now.
    await publishResults(stack, 'teacher-bob', 'bob-1');
    await waitForResults(bobTab, 'bob-1');

    const bobBatches = (await bobTab.log()).typed.map((entry) => entry.data.batch_id);
    expect(bobBatches).toEqual(['bob-1']);
    for (const tab of aliceTabs) {
      expect((await tab.log()).typed.map((entry) => entry.data.batch_id)).toEqual(['alice-1']);
    }
    await alice.close();
    await bob.close();
  });
});
