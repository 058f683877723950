import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createNotificationEnvelope, createNotifier, type Notifier } from '@huleedu/notify';
import {
  createDurablePublisher,
  type DurablePublisher,
  freePort,
  launchChromium,
  type NodeProcess,
  type RedisHandle,
  repositoryRoot,
  type ServiceProcess,
  startNodeProcess,
  startRedis,
  startService,
  TEST_SECRET,
} from '@huleedu/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoServerScript } from '../support/processes.js';

// The committed docs/demo.png is refreshed only on request (DEMO_SCREENSHOT=docs/demo.png, a path
// from the repository root): a test run must not leave the checkout modified.
const repoRoot = repositoryRoot();
const screenshotPath = join(repoRoot, process.env.DEMO_SCREENSHOT ?? '.tmp/demo.png');

let redis: RedisHandle;
let service: ServiceProcess;
let demo: NodeProcess;
let browser: Browser;
let demoUrl: string;
let durable: DurablePublisher;

beforeAll(async () => {
  redis = await startRedis();
  durable = createDurablePublisher(redis.url);
  service = await startService({ redisUrl: redis.url });
  const demoPort = await freePort();
  demo = await startNodeProcess(demoServerScript, {
    env: {
      DEMO_PORT: String(demoPort),
      WEBSOCKET_PUBLIC_URL: service.url,
      WEBSOCKET_REDIS_URL: redis.url,
      JWT_SECRET_KEY: TEST_SECRET,
    },
    readyLine: /"msg":"listening"/,
  });
  demoUrl = `http://127.0.0.1:${demoPort}/`;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await durable?.close();
  await demo?.stop();
  await service?.stop();
  await redis?.stop();
});

async function publish(page: Page, type: string): Promise<void> {
  const before = await page.locator('.notification').count();
  await page.selectOption('#type', type);
  await page.click('#publish');
  await page.locator('.notification').nth(before).waitFor({ timeout: 20_000 });
}

describe('the demo page', () => {
  it('goes live, shows a published notification with category and priority, and looks right', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(demoUrl);
    await page.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });
    expect(await page.textContent('#badge-text')).toBe('Live');
    expect(await page.textContent('#user')).toBe('signed in as teacher-1');

    await publish(page, 'batch_results_ready');
    const first = page.locator('.notification').first();
    expect(await first.getAttribute('data-event')).toBe('batch_results_ready');
    expect(await first.getAttribute('data-priority')).toBe('high');
    expect(await first.textContent()).toContain('Processing results');
    expect(await first.textContent()).toContain(
      'Results for "Week 12: persuasive writing" are ready',
    );
    expect(await page.textContent('#publish-status')).toMatch(
      /^Published batch results ready to 1 service instance \(history position \d+\)$/,
    );

    for (const type of [
      'batch_files_uploaded',
      'batch_processing_started',
      'student_matching_confirmation_required',
      'pipeline_denied_insufficient_credits',
    ]) {
      await publish(page, type);
    }
    // Newest first; the one needing action says so.
    const newest = page.locator('.notification').first();
    expect(await newest.getAttribute('data-event')).toBe('pipeline_denied_insufficient_credits');
    expect(await newest.textContent()).toContain('Action required');

    mkdirSync(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, animations: 'disabled' });

    // Filtering by category keeps only that category's notifications.
    await page.click('.filter:has-text("Student workflow")');
    expect(await page.locator('.notification').count()).toBe(1);
    await page.close();
  });

  it('fits a 390 px phone and says which of two tabs leads', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const first = await context.newPage();
    await first.goto(demoUrl);
    await first.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });
    const second = await context.newPage();
    await second.goto(demoUrl);
    await second.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });
    // The two tabs share one socket: the first leads, the second follows.
    await first.locator('#fact-tabs:has-text("this tab leads · 2 tabs share")').waitFor();
    await second.locator('#fact-tabs:has-text("another tab leads · 2 tabs share")').waitFor();
    expect(await second.textContent('#tabs')).toBe('Follower · 2 tabs');

    await publish(first, 'batch_results_ready');
    await second.locator('.notification').first().waitFor();
    // The list takes the phone's width (minus padding), not a squeezed column.
    const box = await first.locator('.notification').first().boundingBox();
    expect(box?.width).toBeGreaterThan(330);
    // Nothing is wider than the screen: no sideways scrolling.
    expect(await first.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    const phoneShot = screenshotPath.replace(/\.png$/, '-390.png');
    await first.screenshot({ path: phoneShot, fullPage: true, animations: 'disabled' });
    await context.close();
  });

  it('stamps a notification without timestamp once, on arrival, and dates one from another day', async () => {
    const notifier: Notifier = createNotifier({ redis: redis.url });
    // A fixed locale and zone, so the expected text does not depend on the machine.
    const page = await browser.newPage({ locale: 'en-GB', timezoneId: 'UTC' });
    try {
      await page.goto(demoUrl);
      await page.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });

      // A raw event outside the catalogue: valid for the client, and it carries no timestamp.
      await notifier.publish('teacher-1', 'system_notice', { message: 'Maintenance at 18:00' });
      const notice = page.locator(
        '.notification[data-event="system_notice"][data-origin="live"] .time',
      );
      await notice.waitFor({ timeout: 20_000 });
      const stamped = {
        text: await notice.textContent(),
        at: await notice.getAttribute('datetime'),
      };
      expect(Date.now() - Date.parse(stamped.at ?? '')).toBeLessThan(20_000);

      // Later redraws (a filter click, another notification) keep the arrival time.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await page.click('.filter:has-text("Uncategorised")');
      await page.click('.filter:has-text("All")');
      await notifier.publishUserNotification(
        'teacher-1',
        'batch_results_ready',
        { batch_id: 'b-old', results_count: 3, message: 'Results from January' },
        { timestamp: '2026-01-15T08:30:00Z' },
      );
      const old = page.locator(
        '.notification[data-event="batch_results_ready"][data-origin="live"] .time',
      );
      await old.waitFor({ timeout: 20_000 });
      expect({
        text: await notice.textContent(),
        at: await notice.getAttribute('datetime'),
      }).toEqual(stamped);

      // A timestamp on another day shows its date, not just the time of day.
      expect(await old.textContent()).toBe('15 Jan 2026, 08:30:00');
      expect(await old.getAttribute('datetime')).toBe('2026-01-15T08:30:00.000Z');
    } finally {
      await page.close();
      await notifier.close();
    }
  });

  it('shows "Reconnecting" while the service is away, and "Live" again when it is back', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(demoUrl);
    await page.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });
    await service.stop();
    await page.locator('#badge[data-tone="reconnecting"]').waitFor({ timeout: 30_000 });
    expect(await page.textContent('#badge-text')).toMatch(/^Reconnecting/);
    await service.start();
    await page.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });
    await publish(page, 'class_created');
    await page.close();
  });

  it('paints the notification centre from the history on load (recent), marked "From history"', async () => {
    await fetch(`${demoUrl}api/history/forget`, { method: 'POST' }); // start from an empty history
    for (const batch of ['h-1', 'h-2', 'h-3']) await publishDurably(batch);
    const page = await browser.newPage();
    await page.goto(demoUrl);
    await page.locator('.notification[data-origin="history"]').nth(2).waitFor({ timeout: 30_000 });
    expect(await batchesShown(page)).toEqual(['h-3', 'h-2', 'h-1']); // newest first
    expect(await page.locator('.pill.origin').first().textContent()).toBe('From history');
    expect(await page.locator('#notice').isHidden()).toBe(true); // nothing was missed
    await page.close();
  });

  it('stop the service, publish a few, start it again: they appear marked "Caught up"', async () => {
    await fetch(`${demoUrl}api/history/forget`, { method: 'POST' });
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(demoUrl);
    await page.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });
    await publishDurably('live-1');
    await page.locator('.notification[data-origin="live"]').waitFor({ timeout: 20_000 });

    await service.stop();
    await page.locator('#badge[data-tone="reconnecting"]').waitFor({ timeout: 30_000 });
    for (const batch of ['away-1', 'away-2', 'away-3']) await publishDurably(batch);
    await service.start();
    await page
      .locator('.notification[data-origin="caught-up"]')
      .nth(2)
      .waitFor({ timeout: 30_000 });

    expect(await batchesShown(page)).toEqual(['away-3', 'away-2', 'away-1', 'live-1']);
    expect(await page.locator('.pill.origin[data-origin="caught-up"]').count()).toBe(3);
    expect(await page.textContent('#notice')).toBe(
      'Caught up: 3 notifications arrived while you were away',
    );
    expect(await page.textContent('#fact-caught-up')).toBe('3');
    await page.screenshot({
      path: join(repoRoot, '.tmp/demo-caught-up.png'),
      animations: 'disabled',
    });
    await page.close();
  });

  it("shows a resync when the history is lost, and refetches the list from the app's API", async () => {
    const page = await browser.newPage();
    await page.goto(demoUrl);
    await page.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });
    await publishDurably('before-loss'); // the page now has a position in this history
    await page.locator('.notification[data-origin="live"]').first().waitFor({ timeout: 20_000 });
    expect(await page.textContent('#fact-position')).toMatch(/^\d+ · epoch /);

    await page.click('#forget-history');
    await page.locator('#notice[data-tone="resync"]').waitFor({ timeout: 30_000 });
    expect(await page.textContent('#notice')).toBe(
      "Resync (history_lost): the history could not cover the gap; the list was refetched from the app's API",
    );
    const { notifications } = (await (await fetch(`${demoUrl}api/notifications`)).json()) as {
      notifications: unknown[];
    };
    await page.waitForFunction(
      (count) =>
        document.querySelectorAll('.notification').length === count &&
        document.querySelectorAll('.notification:not([data-origin="refetched"])').length === 0,
      notifications.length,
      { timeout: 10_000 },
    );
    await page.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });
    await page.close();
  });
});

/** Publishes a batch_results_ready for the demo user durably (the publish script, as notify does). */
async function publishDurably(batchId: string): Promise<void> {
  const envelope = createNotificationEnvelope('batch_results_ready', {
    batch_id: batchId,
    results_count: 5,
    message: `Results for ${batchId} are ready`,
  });
  await durable.publish('teacher-1', envelope);
}

/** The batch ids of the cards shown, top to bottom. */
function batchesShown(page: Page): Promise<string[]> {
  return page.$$eval('.notification .ids', (lines) =>
    lines.map((line) => /batch_id=(\S+)/.exec(line.textContent ?? '')?.[1] ?? ''),
  );
}
