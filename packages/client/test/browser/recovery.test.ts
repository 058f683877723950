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

const fastRetry = { initialDelayMs: 200, maxDelayMs: 1_000, connectTimeoutMs: 2_000 };

describe('recovery in Chromium', () => {
  it('reconnects by itself after the service is killed and restarted', async () => {
    const context = await stack.browser.newContext();
    const tab = await openTab(stack, context, { userId: 'teacher-crash', client: fastRetry });
    await tab.waitForState('open');
    await stack.service.stop('SIGKILL');
    await tab.waitForState('reconnecting');
    await stack.service.start();
    await tab.waitForState('open');
    await publishResults(stack, 'teacher-crash', 'after-crash');
    await waitForResults(tab, 'after-crash');
    const log = await tab.log();
    // Killed without a close frame: the browser reports 1006 and the client backs off.
    expect(log.states.find((s) => s.state === 'reconnecting')?.info.code).toBe(1006);
    await context.close();
  });

  it('follows a deploy: 1001 from the stopping instance, back on the new one', async () => {
    const context = await stack.browser.newContext();
    const tab = await openTab(stack, context, {
      userId: 'teacher-deploy',
      client: { ...fastRetry, goingAwaySpreadMs: 1_000 },
    });
    await tab.waitForState('open');
    await stack.service.stop('SIGTERM');
    await stack.service.start();
    await publishResults(stack, 'teacher-deploy', 'after-deploy');
    await waitForResults(tab, 'after-deploy');
    const first = (await tab.log()).states.find((s) => s.state === 'reconnecting');
    expect(first?.info).toMatchObject({ code: 1001, reason: 'server_shutdown' });
    expect(first?.info.delayMs).toBeLessThanOrEqual(1_000);
    await context.close();
  });

  it('notices a frozen service (SIGSTOP) within two heartbeat intervals and recovers after SIGCONT', async () => {
    const heartbeatIntervalMs = 1_500;
    const context = await stack.browser.newContext();
    const tab = await openTab(stack, context, {
      userId: 'teacher-frozen',
      client: { ...fastRetry, heartbeatIntervalMs },
    });
    await tab.waitForState('open');
    const frozenAt = Date.now();
    stack.service.freeze();
    try {
      await tab.waitForState('reconnecting', 15_000);
      const log = await tab.log();
      const noticed = log.states.find((s) => s.state === 'reconnecting');
      expect(noticed?.info.error?.code).toBe('heartbeat_timeout');
      // Two intervals, plus slack for a loaded machine.
      expect(noticed!.at - frozenAt).toBeLessThanOrEqual(2 * heartbeatIntervalMs + 1_000);
    } finally {
      stack.service.thaw();
    }
    await tab.waitForState('open');
    await publishResults(stack, 'teacher-frozen', 'after-freeze');
    await waitForResults(tab, 'after-freeze');
    await context.close();
  });
});
