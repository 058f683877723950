import { signToken } from '@huleedu/auth';
import { TEST_SECRET, waitFor } from '@huleedu/test-support';
import { controlEvents, refreshEvents } from '@huleedu/ws-protocol';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  type BrowserStack,
  browserStackPerFile,
  openTab,
  publishResults,
  serviceMetric,
  type Tab,
  waitForResults,
} from './harness.js';

// No clock tolerance: a token that was not refreshed stops working when its exp says so.
const running = browserStackPerFile({ JWT_CLOCK_TOLERANCE_SECONDS: '0' });

/** Tokens of `userId` that live `seconds`, as the identity service would issue them. */
const shortLived = (userId: string, seconds: number) => () =>
  signToken(userId, { secret: TEST_SECRET, expiresInSeconds: seconds });

/** A labelled sample of the service's `/metrics` (e.g. a refresh outcome), 0 if absent. */
async function labelled(stack: BrowserStack, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stack.service.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return Number(line?.split(' ')[1] ?? 0);
}

/** Every WebSocket a page opens, with the event names of the JSON frames it received. */
function watchSockets(page: Page): { url: string; events: string[] }[] {
  const sockets: { url: string; events: string[] }[] = [];
  page.on('websocket', (socket) => {
    const seen = { url: socket.url(), events: [] as string[] };
    sockets.push(seen);
    socket.on('framereceived', ({ payload }) => {
      try {
        seen.events.push(JSON.parse(String(payload)).event);
      } catch {
        // pong and other text frames that are not JSON
      }
    });
  });
  return sockets;
}

const refreshRequests = async (tab: Tab) =>
  (await tab.log()).tokenRequests.filter((request) => request.refresh).length;

describe('tokens refreshed in place, against the real service', () => {
  it('connects without a token in the URL and keeps one socket past the first expiry', async () => {
    const stack = running();
    const accepted = await serviceMetric(stack, 'huleedu_ws_connections_accepted_total');
    const refreshed = await labelled(
      stack,
      'huleedu_ws_token_refreshes_total',
      'outcome="refreshed"',
    );
    const context = await stack.browser.newContext();
    const page = await context.newPage();
    const sockets = watchSockets(page);
    const issuedAt = Date.now();
    const tab = await openTab(stack, context, {
      userId: 'teacher-refresh',
      page,
      token: shortLived('teacher-refresh', 8),
    });
    await tab.waitForState('open');
    await publishResults(stack, 'teacher-refresh', 'before-expiry');
    await waitForResults(tab, 'before-expiry');

    // Past the first token's expiry (8 s): only a refresh can have kept the socket admitted.
    await waitFor(async () => Date.now() - issuedAt > 10_000 && (await refreshRequests(tab)) >= 1, {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'a refresh, and the first token expired',
    });
    await publishResults(stack, 'teacher-refresh', 'after-expiry');
    await waitForResults(tab, 'after-expiry');

    const log = await tab.log();
    expect(sockets).toHaveLength(1);
    expect(sockets[0]?.url).not.toMatch(/token=/);
    expect(sockets[0]?.events.filter((event) => event === controlEvents.SYNCED)).toHaveLength(1);
    expect(sockets[0]?.events).toContain(refreshEvents.TOKEN_REFRESHED);
    expect(await serviceMetric(stack, 'huleedu_ws_connections_accepted_total')).toBe(accepted + 1);
    expect(
      await labelled(stack, 'huleedu_ws_token_refreshes_total', 'outcome="refreshed"'),
    ).toBeGreaterThan(refreshed);
    expect(log.states.map((s) => s.state)).toEqual(['connecting', 'open']);
    expect(log.resyncs).toEqual([]);
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('refreshes in the leader tab only when tabs share the socket', async () => {
    const stack = running();
    const context = await stack.browser.newContext();
    const tabs = [
      await openTab(stack, context, {
        userId: 'teacher-tabs',
        token: shortLived('teacher-tabs', 8),
      }),
      await openTab(stack, context, {
        userId: 'teacher-tabs',
        token: shortLived('teacher-tabs', 8),
      }),
    ];
    for (const tab of tabs) await tab.waitForState('open');
    await waitFor(
      async () =>
        (await Promise.all(tabs.map((tab) => tab.log()))).every((l) => l.tabs?.count === 2),
      { timeoutMs: 20_000, intervalMs: 100, message: 'two tabs sharing' },
    );
    const logs = await Promise.all(tabs.map((tab) => tab.log()));
    const leader = tabs[logs.findIndex((l) => l.tabs?.leader)] as Tab;
    const follower = tabs.find((tab) => tab !== leader) as Tab;
    await waitFor(async () => (await refreshRequests(leader)) >= 2, {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'two refreshes in the leader tab',
    });
    await publishResults(stack, 'teacher-tabs', 'shared-after-expiry');
    for (const tab of tabs) await waitForResults(tab, 'shared-after-expiry');
    expect(await refreshRequests(follower)).toBe(0);
    for (const tab of tabs) {
      const log = await tab.log();
      expect(log.states.some((s) => s.state === 'reconnecting')).toBe(false);
      expect(log.errors).toEqual([]);
    }
    await context.close();
  });

  it('never sends another user’s token on the socket: the tab switches to that user', async () => {
    const stack = running();
    const mismatches = await labelled(
      stack,
      'huleedu_ws_token_refreshes_total',
      'outcome="token_subject_mismatch"',
    );
    const context = await stack.browser.newContext();
    // The first token is teacher-a's (short); then the app signed in as teacher-b.
    const tab = await openTab(stack, context, {
      userId: 'teacher-a',
      token: (_context, count) =>
        count === 1 ? shortLived('teacher-a', 6)() : shortLived('teacher-b', 3600)(),
    });
    await tab.waitForState('open');
    await waitFor(async () => (await refreshRequests(tab)) >= 1, {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'the refresh that returns teacher-b',
    });
    await publishResults(stack, 'teacher-b', 'for-b');
    await waitForResults(tab, 'for-b');
    await stack.notifier.publishUserNotification('teacher-a', 'batch_results_ready', {
      batch_id: 'for-a',
      results_count: 1,
      message: 'not for this tab any more',
    });
    await publishResults(stack, 'teacher-b', 'for-b-2');
    await waitForResults(tab, 'for-b-2');
    expect((await tab.log()).typed.map((entry) => entry.data.batch_id)).not.toContain('for-a');
    expect(
      await labelled(stack, 'huleedu_ws_token_refreshes_total', 'outcome="token_subject_mismatch"'),
    ).toBe(mismatches);
    await context.close();
  });
});
