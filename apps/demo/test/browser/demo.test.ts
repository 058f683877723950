import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNotifier, type Notifier } from '@huleedu/notify';
import { freePort, type RedisHandle, startRedis } from '@huleedu/test-support';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  demoServerScript,
  type NodeProcess,
  serviceScript,
  startNodeProcess,
} from '../support/processes.js';

const SECRET = 'demo-browser-test-secret-0123456789abcdef';
// The committed docs/demo.png is refreshed only on request (DEMO_SCREENSHOT=docs/demo.png, a path
// from the repository root): a test run must not leave the checkout modified.
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const screenshotPath = join(repoRoot, process.env.DEMO_SCREENSHOT ?? '.tmp/demo.png');

let redis: RedisHandle;
let service: NodeProcess;
let demo: NodeProcess;
let browser: Browser;
let demoUrl: string;
let serviceEnv: Record<string, string>;

beforeAll(async () => {
  redis = await startRedis();
  const servicePort = await freePort();
  serviceEnv = {
    WEBSOCKET_SERVICE_PORT: String(servicePort),
    WEBSOCKET_SERVICE_HOST: '127.0.0.1',
    WEBSOCKET_REDIS_URL: redis.url,
    JWT_SECRET_KEY: SECRET,
  };
  service = await startNodeProcess(serviceScript, serviceEnv, /"msg":"listening"/);
  const demoPort = await freePort();
  demo = await startNodeProcess(
    demoServerScript,
    {
      DEMO_PORT: String(demoPort),
      WEBSOCKET_PUBLIC_URL: `ws://127.0.0.1:${servicePort}/ws`,
      WEBSOCKET_REDIS_URL: redis.url,
      JWT_SECRET_KEY: SECRET,
    },
    /"msg":"listening"/,
  );
  demoUrl = `http://127.0.0.1:${demoPort}/`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
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
    expect(await page.textContent('#user')).toBe('signed in as demo-teacher');

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

  it('stamps a notification without timestamp once, on arrival, and dates one from another day', async () => {
    const notifier: Notifier = createNotifier({ redis: redis.url });
    // A fixed locale and zone, so the expected text does not depend on the machine.
    const page = await browser.newPage({ locale: 'en-GB', timezoneId: 'UTC' });
    try {
      await page.goto(demoUrl);
      await page.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });

      // A raw event outside the catalogue: valid for the client, and it carries no timestamp.
      await notifier.publish('demo-teacher', 'system_notice', { message: 'Maintenance at 18:00' });
      const notice = page.locator('.notification[data-event="system_notice"] .time');
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
        'demo-teacher',
        'batch_results_ready',
        { batch_id: 'b-old', results_count: 3, message: 'Results from January' },
        { timestamp: '2026-01-15T08:30:00Z' },
      );
      const old = page.locator('.notification[data-event="batch_results_ready"] .time');
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
    service = await startNodeProcess(serviceScript, serviceEnv, /"msg":"listening"/);
    await page.locator('#badge[data-tone="live"]').waitFor({ timeout: 30_000 });
    await publish(page, 'class_created');
    await page.close();
  });
});
