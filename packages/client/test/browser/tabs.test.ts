import { waitFor } from '@huleedu/test-support';
import type { BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  browserStackPerFile,
  openTab,
  publishResultsDurably,
  serviceMetric,
  type Tab,
} from './harness.js';

const running = browserStackPerFile();

/** The service's open authenticated sockets, read from its `/metrics`. */
const socketsOpen = () => serviceMetric(running(), 'huleedu_ws_connections');

/** The batch ids a tab's typed handler received, in order. */
async function batchesOf(tab: Tab): Promise<string[]> {
  return (await tab.log()).typed.map((entry) => entry.data.batch_id);
}

async function openTabs(context: BrowserContext, userId: string, count: number): Promise<Tab[]> {
  const tabs: Tab[] = [];
  for (let i = 0; i < count; i++) tabs.push(await openTab(running(), context, { userId }));
  for (const tab of tabs) await tab.waitForState('open');
  return tabs;
}

/** Waits until exactly one of `tabs` leads and each says `count` tabs share. */
async function settled(tabs: Tab[], count = tabs.length): Promise<Tab> {
  return waitFor(
    async () => {
      const logs = await Promise.all(tabs.map((tab) => tab.log()));
      const leaders = logs.filter((log) => log.tabs?.leader);
      if (leaders.length !== 1 || logs.some((log) => log.tabs?.count !== count)) return undefined;
      return tabs[logs.findIndex((log) => log.tabs?.leader)];
    },
    { timeoutMs: 20_000, intervalMs: 100, message: `one leader among ${count} tabs` },
  );
}

/** Publishes `ids` for `userId` durably, `perSecond` of them a second. */
async function publishAll(userId: string, ids: string[], perSecond = 0): Promise<void> {
  for (const id of ids) {
    await publishResultsDurably(running(), userId, id);
    if (perSecond) await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
  }
}

async function waitForAll(tabs: Tab[], ids: string[]): Promise<void> {
  for (const tab of tabs) {
    await waitFor(async () => (await batchesOf(tab)).length >= ids.length, {
      timeoutMs: 30_000,
      intervalMs: 200,
      message: `${ids.length} notifications in a tab`,
    });
  }
  // Every tab: each notification once, in the order published.
  for (const tab of tabs) expect(await batchesOf(tab)).toEqual(ids);
}

const numbered = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

/** When a tab other than `gone` took the lead (epoch ms), waiting for it. */
async function newLeaderAt(tabs: Tab[], since: number): Promise<number> {
  return waitFor(
    async () => {
      for (const tab of tabs) {
        const change = (await tab.log()).tabsChanges.find((c) => c.leader && c.at >= since);
        if (change) return change.at;
      }
      return undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50, message: 'a new leader' },
  );
}

describe('tabs of one user share one connection', () => {
  it('8 tabs hold one socket and each gets 200 notifications once, in order', async () => {
    const context = await running().browser.newContext();
    const tabs = await openTabs(context, 'teacher-eight', 8);
    await settled(tabs);
    await waitFor(async () => (await socketsOpen()) === 1, { message: 'one socket' });
    const ids = numbered('eight', 200);
    await publishAll('teacher-eight', ids);
    await waitForAll(tabs, ids);
    expect(await socketsOpen()).toBe(1);
    await context.close();
  });

  for (const [how, end] of [
    ['closed', (tab: Tab) => tab.page.close({ runBeforeUnload: false })],
    [
      'crashed',
      async (tab: Tab) => {
        const cdp = await tab.page.context().newCDPSession(tab.page);
        void cdp.send('Page.crash').catch(() => {});
      },
    ],
    [
      'frozen',
      // Chromium ignores Page.setWebLifecycleState 'frozen' for a page in the foreground (its
      // timers keep running); pausing its script in the debugger freezes it the same way: the
      // page keeps its lock and its socket, and runs nothing.
      async (tab: Tab) => {
        const cdp = await tab.page.context().newCDPSession(tab.page);
        await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
        await cdp.send('Debugger.enable');
        await cdp.send('Debugger.pause');
      },
    ],
  ] as const) {
    it(`hands over within 2 s when the leader is ${how}, losing and repeating nothing`, async () => {
      const user = `teacher-${how}`;
      const context = await running().browser.newContext();
      const tabs = await openTabs(context, user, 4);
      const leader = await settled(tabs);
      const others = tabs.filter((tab) => tab !== leader);
      const ids = numbered(how, 200);
      const flowing = publishAll(user, ids, 50);
      await waitFor(async () => (await batchesOf(others[0]!)).length >= 50, {
        timeoutMs: 20_000,
        intervalMs: 50,
        message: 'notifications flowing',
      });
      const endedAt = Date.now();
      await end(leader);
      const ledAt = await newLeaderAt(others, endedAt);
      expect(ledAt - endedAt).toBeLessThanOrEqual(2_000);
      await flowing;
      await waitForAll(others, ids);
      await settled(others);
      await context.close();
    });
  }

  it('a tab opened while notifications flow gets each one from then on, once, in order', async () => {
    const user = 'teacher-joining';
    const context = await running().browser.newContext();
    const tabs = await openTabs(context, user, 2);
    await settled(tabs);
    const ids = numbered('joining', 150);
    const flowing = publishAll(user, ids, 50);
    await waitFor(async () => (await batchesOf(tabs[0]!)).length >= 30, {
      timeoutMs: 20_000,
      message: 'notifications flowing',
    });
    const late = await openTab(running(), context, { userId: user });
    await settled([...tabs, late]);
    const publishedWhenJoined = (await batchesOf(tabs[0]!)).length;
    await flowing;
    await waitForAll(tabs, ids);
    await waitFor(async () => (await batchesOf(late)).at(-1) === ids.at(-1), {
      timeoutMs: 20_000,
      message: 'the last notification in the late tab',
    });
    const got = await batchesOf(late);
    // Everything since it joined: a gapless, duplicate-free tail of what was published.
    expect(got).toEqual(ids.slice(ids.length - got.length));
    expect(got.length).toBeGreaterThanOrEqual(ids.length - publishedWhenJoined);
    await context.close();
  });

  it('passes state changes, resyncs and errors on to every tab', async () => {
    const stack = running();
    const user = 'teacher-relay';
    const context = await stack.browser.newContext();
    const tabs = await openTabs(context, user, 3);
    await settled(tabs);
    await publishAll(user, ['relay-0']);
    await waitForAll(tabs, ['relay-0']);

    // A payload the catalogue refuses: the leader reports it, every tab hears of it (before the
    // service goes: stopped at once, it could drain the socket before the message reached it).
    await stack.durable.publish(user, { event: 'batch_results_ready', data: { batch_id: 7 } });
    for (const tab of tabs) {
      await waitFor(
        async () => (await tab.log()).errors.some((error) => error.code === 'invalid_message'),
        { message: 'the refused payload reported in every tab' },
      );
    }
    // The service goes away and Redis loses the history meanwhile: a resync on the way back.
    await stack.service.stop();
    await stack.redis.restart();
    await stack.service.start();
    for (const tab of tabs) {
      await waitFor(
        async () => {
          const log = await tab.log();
          return log.resyncs.length > 0 && log.states.at(-1)?.state === 'open';
        },
        { timeoutMs: 30_000, intervalMs: 200, message: 'a resync and open again in every tab' },
      );
      const log = await tab.log();
      expect(log.errors.map((error) => error.code)).toContain('invalid_message');
      expect(log.resyncs[0]?.reason).toBe('history_lost');
      expect(log.states.map((entry) => entry.state)).toContain('reconnecting');
    }
    await context.close();
  });

  it("never delivers one user's notifications to another's tabs, also after a switch", async () => {
    const alice = await running().browser.newContext();
    const bob = await running().browser.newContext();
    // The first tab leads Alice's tabs, then signs out and in as Bob.
    const aliceTabs = await openTabs(alice, 'teacher-alice', 3);
    await settled(aliceTabs);
    const [switcher, ...stayers] = aliceTabs as [Tab, ...Tab[]];
    const bobTab = (await openTabs(bob, 'teacher-bob', 1))[0]!;
    await publishAll('teacher-alice', ['alice-0']);
    await waitForAll(aliceTabs, ['alice-0']);

    await switcher.switchUser('teacher-bob');
    await switcher.waitForState('open');
    await settled(stayers);
    await publishAll('teacher-alice', ['alice-1']);
    await publishAll('teacher-bob', ['bob-1']);
    await waitForAll(stayers, ['alice-0', 'alice-1']);
    await waitForAll([bobTab], ['bob-1']);
    await waitForAll([switcher], ['alice-0', 'bob-1']);
    // One socket for Alice, one for Bob in each context.
    await waitFor(async () => (await socketsOpen()) === 3, { message: 'three sockets' });
    await alice.close();
    await bob.close();
  });

  it('falls back to a socket per tab without Web Locks, and still delivers everything', async () => {
    const context = await running().browser.newContext();
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'locks', { value: undefined });
    });
    const tabs = await openTabs(context, 'teacher-nolocks', 3);
    await waitFor(async () => (await socketsOpen()) === 3, { message: 'a socket per tab' });
    for (const tab of tabs) expect((await tab.log()).tabs).toBeUndefined();
    const ids = numbered('nolocks', 50);
    await publishAll('teacher-nolocks', ids);
    await waitForAll(tabs, ids);
    await context.close();
  });
});
