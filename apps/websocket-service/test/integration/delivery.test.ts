import { signToken } from '@huleedu/auth';
import { createNotifier, type Notifier } from '@huleedu/notify';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  metricValue,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

let redis: RedisHandle;
let service: ServiceProcess;
let publisher: Redis;
let notifier: Notifier;
const tokens: string[] = [];

function token(userId: string): string {
  const value = signToken(userId, { secret: SECRET, expiresInSeconds: 600 });
  tokens.push(value);
  return value;
}

/** Waits until Redis reports a subscriber on the user's channel (the socket was admitted). */
async function subscribed(userId: string): Promise<void> {
  await waitFor(
    async () =>
      Number(((await publisher.pubsub('NUMSUB', `ws:${userId}`)) as [string, number])[1]) === 1,
    { message: `subscription for ${userId}` },
  );
}

beforeAll(async () => {
  redis = await startRedis();
  service = await startServiceProcess({ WEBSOCKET_REDIS_URL: redis.url });
  publisher = new Redis(redis.url);
  notifier = createNotifier({ redis: redis.url });
  await waitUntilReady(service);
});

afterEach(() => terminateClients());

afterAll(async () => {
  await notifier?.close();
  publisher?.disconnect();
  await service?.stop();
  await redis?.stop();
});

describe('delivery through the service process', () => {
  it('delivers a backend notification (@huleedu/notify -> Redis -> service) to every tab of the user', async () => {
    const tabs = [1, 2, 3].map(() => connectClient(service.wsUrl(token('teacher-e2e'))));
    await Promise.all(tabs.map((t) => t.opened));
    await subscribed('teacher-e2e');

    const { receivers } = await notifier.publishUserNotification(
      'teacher-e2e',
      'batch_results_ready',
      {
        batch_id: 'batch-42',
        class_id: null,
        results_count: 28,
        message: 'Results for batch 42 are ready',
      },
    );
    expect(receivers).toBe(1); // one service instance, however many tabs

    await waitFor(() => tabs.every((t) => t.frames.length === 1), { message: 'all tabs received' });
    for (const tab of tabs) {
      const envelope = JSON.parse(tab.frames[0]!);
      expect(envelope).toMatchObject({
        event: 'batch_results_ready',
        data: {
          batch_id: 'batch-42',
          results_count: 28,
          category: 'processing_results',
          priority: 'high',
          action_required: false,
        },
      });
      expect(tab.frames[0]).toBe(tabs[0]!.frames[0]);
    }
  });

  it("delivers a legacy Python backend's raw PUBLISH byte for byte", async () => {
    const tab = connectClient(service.wsUrl(token('teacher-legacy')));
    await tab.opened;
    await subscribed('teacher-legacy');
    // What Python's json.dumps produces: spaces after separators, \u escapes, no id field.
    const legacy =
      '{"event": "batch_file_removed", "data": {"batch_id": "b-7", "file_upload_id": "f-1", "filename": "uppsats \\u00e5.docx", "category": "file_operations", "priority": "standard", "action_required": false, "deadline": null, "class_id": null, "correlation_id": "c-1", "timestamp": "2025-01-01T10:00:00+00:00"}}';
    await publisher.publish('ws:teacher-legacy', legacy);
    await waitFor(() => tab.frames.length === 1, { message: 'legacy message delivered' });
    expect(tab.frames[0]).toBe(legacy);
  });

  it("never delivers one user's notifications to another user", async () => {
    const alice = connectClient(service.wsUrl(token('alice')));
    const bob = connectClient(service.wsUrl(token('bob')));
    await Promise.all([alice.opened, bob.opened]);
    await Promise.all([subscribed('alice'), subscribed('bob')]);
    await notifier.publish('alice', 'custom_event', { for: 'alice' });
    await notifier.publish('bob', 'custom_event', { for: 'bob' });
    await waitFor(() => alice.frames.length === 1 && bob.frames.length === 1, {
      message: 'both received',
    }).catch((error: unknown) => {
      // Say what each socket did get, so a loss can be told from a duplicate or a resync.
      const got = { alice: alice.all, bob: bob.all };
      throw new Error(`${String(error)}; received ${JSON.stringify(got)}`);
    });
    // A little longer, so a misrouted copy would have time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(alice.frames.map((f) => JSON.parse(f).data.for)).toEqual(['alice']);
    expect(bob.frames.map((f) => JSON.parse(f).data.for)).toEqual(['bob']);
  });

  it('drops malformed payloads (counted and logged), stays up, and delivers the next valid one', async () => {
    const tab = connectClient(service.wsUrl(token('teacher-malformed')));
    await tab.opened;
    await subscribed('teacher-malformed');
    const before = await metricValue(service, 'huleedu_ws_malformed_payloads_total');
    const bad = [
      'not json at all',
      '{"event": 42, "data": {}}',
      '{"event": "x"}',
      '"just a string"',
    ];
    for (const payload of bad) await publisher.publish('ws:teacher-malformed', payload);
    await publisher.publish('ws:teacher-malformed', '{"event":"after_bad","data":{"ok":true}}');

    await waitFor(() => tab.frames.length === 1, { message: 'valid message after malformed ones' });
    expect(tab.frames).toEqual(['{"event":"after_bad","data":{"ok":true}}']);
    expect(await metricValue(service, 'huleedu_ws_malformed_payloads_total')).toBe(
      before + bad.length,
    );
    const warnings = service
      .logLines()
      .filter((l) => l.msg === 'dropped malformed notification payload');
    expect(warnings.length).toBeGreaterThanOrEqual(bad.length);
    expect(warnings[0]).toMatchObject({
      level: 'warn',
      userId: 'teacher-malformed',
      reason: 'not JSON',
    });
  });

  it('unsubscribes a user when their last tab closes', async () => {
    const a = connectClient(service.wsUrl(token('teacher-leaving')));
    const b = connectClient(service.wsUrl(token('teacher-leaving')));
    await Promise.all([a.opened, b.opened]);
    await subscribed('teacher-leaving');
    a.socket.close();
    await a.closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(
      Number(((await publisher.pubsub('NUMSUB', 'ws:teacher-leaving')) as [string, number])[1]),
    ).toBe(1);
    b.socket.close();
    await waitFor(
      async () =>
        Number(
          ((await publisher.pubsub('NUMSUB', 'ws:teacher-leaving')) as [string, number])[1],
        ) === 0,
      { message: 'unsubscribed after the last tab' },
    );
  });

  it('counts deliveries in /metrics and never writes a token to its output', async () => {
    // A notification published while a first connect is still syncing reaches it from the
    // history (counted as replayed), not live.
    const live = await metricValue(service, 'huleedu_ws_frames_delivered_total');
    const replayed = await metricValue(service, 'huleedu_ws_replayed_messages_total');
    expect(live + replayed).toBeGreaterThanOrEqual(6);
    expect(await metricValue(service, 'huleedu_ws_redis_messages_total')).toBeGreaterThanOrEqual(9);
    expect(tokens.length).toBeGreaterThan(5);
    const output = service.output();
    for (const value of tokens) expect(output).not.toContain(value);
  });
});
