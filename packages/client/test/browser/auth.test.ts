import { signToken } from '@huleedu/auth';
import { TEST_SECRET } from '@huleedu/test-support';
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
  // No clock tolerance: a token expires when its exp says so.
  stack = await startBrowserStack({ JWT_CLOCK_TOLERANCE_SECONDS: '0' });
});
afterAll(async () => {
  await stack?.close();
});

describe('tokens in Chromium', () => {
  it('fetches a new token when the current one expires, and delivery continues', async () => {
    const context = await stack.browser.newContext();
    const tab = await openTab(stack, context, {
      userId: 'teacher-expiry',
      // Without the in-place refresh (a service too old for it behaves the same): an expiry is a
      // reconnect with a fresh token.
      client: { tokenRefresh: false },
      // The first token lives 3 seconds; the next ones an hour.
      token: (_context, count) =>
        signToken('teacher-expiry', {
          secret: TEST_SECRET,
          expiresInSeconds: count === 1 ? 3 : 3600,
        }),
    });
    await tab.waitForState('open');
    await publishResults(stack, 'teacher-expiry', 'before-expiry');
    await waitForResults(tab, 'before-expiry');

    await tab.page.waitForFunction(
      () =>
        (window as unknown as { log: { tokenRequests: unknown[] } }).log.tokenRequests.length >= 2,
      undefined,
      { timeout: 20_000 },
    );
    await tab.waitForState('open');
    await publishResults(stack, 'teacher-expiry', 'after-expiry');
    await waitForResults(tab, 'after-expiry');

    const log = await tab.log();
    expect(log.tokenRequests.map(({ refresh }) => refresh)).toEqual([false, true]);
    expect(log.states.find((s) => s.state === 'reconnecting')?.info).toMatchObject({
      code: 1008,
      reason: 'token_expired',
      delayMs: 0,
    });
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('reports auth_failed for a refused token and slows its attempts down', async () => {
    const context = await stack.browser.newContext();
    const tab = await openTab(stack, context, {
      userId: 'teacher-refused',
      client: { authRetryDelayMs: 1_000, authMaxDelayMs: 4_000 },
      token: () => signToken('teacher-refused', { secret: 'not-the-service-secret-0123456789' }),
    });
    const windowMs = 10_000;
    await tab.page.waitForTimeout(windowMs);
    const log = await tab.log();
    await context.close();

    const attempts = log.tokenRequests.map((request) => request.at);
    // Without backoff a client would try dozens of times in 10 s; with it: 0, 0, then waits of
    // at least 0.5 s, 1 s, 2 s, 2 s (half the bound of 1, 2, 4, 4 s).
    expect(attempts.length).toBeGreaterThanOrEqual(4);
    expect(attempts.length).toBeLessThanOrEqual(8);
    const gaps = attempts.slice(2).map((at, i) => at - attempts[i + 1]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(450);
    expect(gaps[1]).toBeGreaterThanOrEqual(950);
    expect(gaps[2]).toBeGreaterThanOrEqual(1_950);

    // Every refusal after the first is reported (the last attempt may still be under way).
    const authFailed = log.errors.filter((error) => error.code === 'auth_failed');
    expect(authFailed.length).toBeGreaterThanOrEqual(attempts.length - 2);
    expect(authFailed[0]?.message).toContain('token_invalid_signature');
    const lastWait = log.states.filter((s) => s.state === 'reconnecting').at(-1);
    expect(lastWait?.info.error?.code).toBe('auth_failed');
  });
});
