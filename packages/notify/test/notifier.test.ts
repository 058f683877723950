import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { parseEnvelope, validateNotification } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNotifier,
  NotificationValidationError,
  type Notifier,
  NotifierError,
  type PublishResult,
} from '../src/index.js';
import { type RecordingSubscriber, recordingSubscriber } from './subscriber.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const results = { batch_id: 'b1', results_count: 3, message: 'Results ready' };

let redis: RedisHandle;
let subscriber: RecordingSubscriber;
let notifier: Notifier;

beforeAll(async () => {
  redis = await startRedis();
  subscriber = await recordingSubscriber(redis.url);
  await subscriber.subscribe('ws:teacher-1', 'custom:teacher-1', 'ws:teacher-2');
  notifier = createNotifier({ redis: redis.url });
});

afterAll(async () => {
  await notifier?.close();
  await subscriber?.close();
  await redis?.stop();
});

/** The JSON messages received on `channel` so far, parsed. */
function received(channel: string): Record<string, unknown>[] {
  return subscriber.messages
    .filter((m) => m.channel === channel)
    .map((m) => JSON.parse(m.message) as Record<string, unknown>);
}

async function nextOn(channel: string, publish: () => Promise<unknown>) {
  const before = received(channel).length;
  await publish();
  return waitFor(() => received(channel)[before], { message: `a message on ${channel}` });
}

describe('publishUserNotification', () => {
  it('publishes {position, epoch, event, data, id} on ws:<user> with the catalogue defaults filled in', async () => {
    const before = Date.now();
    let result: PublishResult | undefined;
    const message = await nextOn('ws:teacher-1', async () => {
      result = await notifier.publishUserNotification('teacher-1', 'batch_results_ready', results);
    });
    expect(Object.keys(message)).toEqual([
      'position',
      'epoch',
      'published_ms',
      'event',
      'data',
      'id',
    ]);
    expect(message.event).toBe('batch_results_ready');
    expect(message.id).toMatch(uuid);
    // What the call resolved to describes the message that went out.
    expect(result).toEqual({
      id: message.id,
      position: message.position,
      epoch: message.epoch,
      receivers: 1,
      duplicate: false,
    });
    const data = message.data as Record<string, unknown>;
    expect(data).toEqual({
      batch_id: 'b1',
      results_count: 3,
      message: 'Results ready',
      category: 'processing_results',
      priority: 'high',
      action_required: false,
      deadline: null,
      correlation_id: expect.stringMatching(uuid),
      timestamp: expect.any(String),
    });
    expect(Date.parse(data.timestamp as string)).toBeGreaterThanOrEqual(before - 1000);
    // What a browser client does with it: parse and validate against the same catalogue.
    const parsed = parseEnvelope(JSON.stringify(message));
    expect(parsed.ok && validateNotification(parsed.envelope).ok).toBe(true);
  });

  it('gives every message a fresh id and correlation id', async () => {
    const first = await nextOn('ws:teacher-1', () =>
      notifier.publishUserNotification('teacher-1', 'batch_results_ready', results),
    );
    const second = await nextOn('ws:teacher-1', () =>
      notifier.publishUserNotification('teacher-1', 'batch_results_ready', results),
    );
    expect(second.id).not.toBe(first.id);
    expect((second.data as { correlation_id: string }).correlation_id).not.toBe(
      (first.data as { correlation_id: string }).correlation_id,
    );
  });

  it('applies priority, action_required, deadline, correlation id and timestamp options', async () => {
    const message = await nextOn('ws:teacher-1', () =>
      notifier.publishUserNotification('teacher-1', 'batch_results_ready', results, {
        priority: 'critical',
        actionRequired: true,
        deadline: new Date('2030-01-02T03:04:05Z'),
        correlationId: 'req-42',
        timestamp: '2030-01-01T00:00:00+02:00',
      }),
    );
    expect(message.data).toMatchObject({
      priority: 'critical',
      action_required: true,
      deadline: '2030-01-02T03:04:05.000Z',
      correlation_id: 'req-42',
      timestamp: '2030-01-01T00:00:00+02:00',
    });
  });

  it('passes optional payload fields through unchanged', async () => {
    const message = await nextOn('ws:teacher-1', () =>
      notifier.publishUserNotification('teacher-1', 'batch_results_ready', {
        ...results,
        class_id: 'c7',
        download_url: 'https://example.test/r.zip',
      }),
    );
    expect(message.data).toMatchObject({
      class_id: 'c7',
      download_url: 'https://example.test/r.zip',
    });
  });

  it('resolves to the number of subscribers that received the message', async () => {
    const receivers = async (userId: string) =>
      (await notifier.publishUserNotification(userId, 'batch_results_ready', results)).receivers;
    expect(await receivers('nobody-listens')).toBe(0);
    expect(await receivers('teacher-2')).toBe(1);
    const second = await recordingSubscriber(redis.url);
    try {
      await second.subscribe('ws:teacher-2');
      expect(await receivers('teacher-2')).toBe(2);
    } finally {
      await second.close();
    }
  });

  it('publishes on <prefix>:<user> with channelPrefix', async () => {
    const custom = createNotifier({ redis: redis.url, channelPrefix: 'custom' });
    try {
      const message = await nextOn('custom:teacher-1', () =>
        custom.publishUserNotification('teacher-1', 'class_created', {
          class_id: 'c1',
          message: 'Class created',
        }),
      );
      expect(message.event).toBe('class_created');
      expect(custom.channelPrefix).toBe('custom');
    } finally {
      await custom.close();
    }
  });
});

describe('validation', () => {
  async function rejection(promise: Promise<unknown>): Promise<NotificationValidationError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NotificationValidationError);
    return error as NotificationValidationError;
  }

  it('names the bad field of an invalid payload, and publishes nothing', async () => {
    const count = subscriber.messages.length;
    const error = await rejection(
      notifier.publishUserNotification('teacher-1', 'batch_results_ready', {
        ...results,
        results_count: 'three' as unknown as number,
      }),
    );
    expect(error.code).toBe('invalid_payload');
    expect(error.message).toBe(
      'batch_results_ready: data.results_count: expected a whole number >= 0, got "three"',
    );
    // zod's own issues travel with the error, for code that wants to branch on them.
    expect(error.issues).toEqual([
      expect.objectContaining({ code: 'invalid_type', path: ['results_count'], input: 'three' }),
    ]);
    // A check round trip: a later publish arrives, the rejected one never did.
    await nextOn('ws:teacher-1', () =>
      notifier.publish('teacher-1', 'probe', { after: 'rejection' }),
    );
    expect(subscriber.messages.slice(count).map((m) => JSON.parse(m.message).event)).toEqual([
      'probe',
    ]);
  });

  it('names every missing field', async () => {
    const error = await rejection(
      notifier.publishUserNotification('teacher-1', 'pipeline_completed', {
        batch_id: 'b1',
        message: 'done',
      } as never),
    );
    expect(error.message).toContain(
      'data.completed_phases: expected a list of strings, got nothing',
    );
    expect(error.message).toContain('data.final_status: expected a string, got nothing');
  });

  it('refuses a misspelt optional field, naming it: publishers are strict', async () => {
    const error = await rejection(
      notifier.publishUserNotification('teacher-1', 'batch_results_ready', {
        ...results,
        // @ts-expect-error the compiler names the unknown field too
        clas_id: 'c1',
      }),
    );
    expect(error.code).toBe('invalid_payload');
    expect(error.message).toBe(
      'batch_results_ready: data.clas_id: unknown field; ' +
        'the fields of batch_results_ready are batch_id, class_id, message, results_count, download_url',
    );
    expect(error.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', keys: ['clas_id'] }),
    ]);
  });

  it('refuses shared fields in the payload and says where they belong', async () => {
    const error = await rejection(
      notifier.publishUserNotification('teacher-1', 'batch_results_ready', {
        ...results,
        priority: 'low',
      } as never),
    );
    expect(error.message).toBe(
      'batch_results_ready: data.priority: set by the notifier, pass options.priority instead',
    );
  });

  it('checks options as part of the final message', async () => {
    const badPriority = await rejection(
      notifier.publishUserNotification('teacher-1', 'batch_results_ready', results, {
        priority: 'urgent' as never,
      }),
    );
    expect(badPriority.message).toContain('data.priority: expected one of');
    const badDeadline = await rejection(
      notifier.publishUserNotification('teacher-1', 'batch_results_ready', results, {
        deadline: '2030-01-01 12:00',
      }),
    );
    expect(badDeadline.message).toBe(
      'batch_results_ready: data.deadline: expected an ISO 8601 time like 2026-11-22T10:00:00Z or null, got "2030-01-01 12:00"',
    );
    const invalidDate = await rejection(
      notifier.publishUserNotification('teacher-1', 'batch_results_ready', results, {
        deadline: new Date('not a date'),
      }),
    );
    expect(invalidDate.message).toBe('batch_results_ready: data.deadline: invalid Date');
  });

  it('rejects an unknown notification type', async () => {
    const error = await rejection(
      notifier.publishUserNotification(
        'teacher-1',
        'batch_results_redy' as never,
        results as never,
      ),
    );
    expect(error.code).toBe('unknown_type');
    expect(error.message).toContain('unknown notification type "batch_results_redy"');
    expect(error.message).toContain('batch_results_ready');
  });

  it('checks the message as it will be sent, after JSON serialisation', async () => {
    // Valid as an object, but JSON.stringify would send `data: {}` (a class method is no field).
    class Sneaky {
      toJSON() {
        return {};
      }
    }
    const data = Object.assign(new Sneaky(), {
      ...results,
      category: 'processing_results',
      priority: 'high',
      action_required: false,
      deadline: null,
      correlation_id: 'c-1',
      timestamp: '2026-11-22T10:00:00Z',
    });
    const error = await rejection(
      notifier.publish('teacher-1', 'batch_results_ready', data as never),
    );
    expect(error.code).toBe('invalid_payload');
    expect(error.message).toContain(
      'batch_results_ready: data.batch_id: expected a non-empty string, got nothing',
    );
    expect(error.message).toContain('(after JSON serialisation)');
  });

  it('rejects data that cannot be JSON', async () => {
    const error = await rejection(notifier.publish('teacher-1', 'essay_annotated', { size: 10n }));
    expect(error.code).toBe('invalid_payload');
    expect(error.message).toContain('data: not representable as JSON');
  });

  it.each([
    ['', 'userId must not be empty'],
    ['teacher 1', 'userId contains " "'],
    ['teacher-*', 'userId contains "*"'],
    ['teacher-?', 'userId contains "?"'],
    ['teacher-[1]', 'userId contains "["'],
    ['x'.repeat(257), 'userId too long (257 characters, maximum 256)'],
    [42, 'userId expected a string, got number'],
  ])('rejects the user id %j', async (userId, message) => {
    const error = await rejection(
      notifier.publishUserNotification(userId as string, 'batch_results_ready', results),
    );
    expect(error.code).toBe('invalid_user_id');
    expect(error.message).toContain(message);
    const raw = await rejection(notifier.publish(userId as string, 'custom', {}));
    expect(raw.code).toBe('invalid_user_id');
  });
});

describe('publish (raw)', () => {
  it('publishes any event as {event, data, id} without catalogue checks', async () => {
    const message = await nextOn('ws:teacher-1', () =>
      notifier.publish('teacher-1', 'essay_annotated', { essay_id: 'e1', anything: [1, 2] }),
    );
    expect(message).toEqual({
      position: expect.any(Number),
      epoch: expect.any(String),
      published_ms: expect.any(Number),
      event: 'essay_annotated',
      data: { essay_id: 'e1', anything: [1, 2] },
      id: expect.stringMatching(uuid),
    });
  });

  it('resolves to the same kind of result', async () => {
    expect(await notifier.publish('teacher-2', 'x', {})).toMatchObject({
      id: expect.stringMatching(uuid),
      position: expect.any(Number),
      receivers: 1,
      duplicate: false,
    });
  });

  it('checks the envelope shape', async () => {
    await expect(notifier.publish('teacher-1', '', {})).rejects.toMatchObject({
      code: 'invalid_payload',
      message: 'event: expected a non-empty string, got ""',
    });
    await expect(notifier.publish('teacher-1', 'x', [1] as never)).rejects.toMatchObject({
      code: 'invalid_payload',
      message: expect.stringContaining('data: expected an object, got a list'),
    });
  });

  it('requires complete data for a catalogue event name, since clients would drop it otherwise', async () => {
    await expect(
      notifier.publish('teacher-1', 'batch_results_ready', { batch_id: 'b1' }),
    ).rejects.toMatchObject({
      code: 'invalid_payload',
      message: expect.stringContaining(
        'data.results_count: expected a whole number >= 0, got nothing',
      ),
    });
  });
});

describe('connection ownership', () => {
  it('uses a caller-supplied ioredis client and leaves it open on close()', async () => {
    const client = new Redis(redis.url);
    try {
      const borrowed = createNotifier({ redis: client });
      const message = await nextOn('ws:teacher-1', () =>
        borrowed.publish('teacher-1', 'via_borrowed_client', {}),
      );
      expect(message.event).toBe('via_borrowed_client');
      await borrowed.close();
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
      await expect(borrowed.publish('teacher-1', 'late', {})).rejects.toMatchObject({
        code: 'notifier_closed',
      });
    } finally {
      client.disconnect();
    }
  });

  it('closes its own connection on close() and refuses later publishes', async () => {
    const own = createNotifier({ redis: redis.url });
    await own.publish('teacher-1', 'warm_up', {});
    const name = 'huleedu-notify';
    const clients = async () => {
      const admin = new Redis(redis.url);
      try {
        return ((await admin.client('LIST')) as string)
          .split('\n')
          .filter((line) => line.includes(`name=${name}`)).length;
      } finally {
        admin.disconnect();
      }
    };
    const open = await clients();
    expect(open).toBeGreaterThanOrEqual(1);
    await own.close();
    await waitFor(async () => (await clients()) === open - 1, {
      message: 'the connection to close',
    });
    await expect(own.publish('teacher-1', 'late', {})).rejects.toBeInstanceOf(NotifierError);
    await own.close(); // twice is fine
  });

  it('refuses unusable options with invalid_options', () => {
    for (const options of [
      { redis: 'http://localhost:6379' },
      { redis: 'not a url' },
      { redis: { cluster: [] } },
      { redis: 42 },
      { redis: redis.url, channelPrefix: '' },
      { redis: redis.url, channelPrefix: 'ws*' },
      { redis: redis.url, publishMode: 'fast' },
      { redis: redis.url, publishTimeoutMs: 0 },
      { redis: redis.url, history: true },
      { redis: redis.url, history: { maxLength: 0 } },
    ]) {
      expect(() => createNotifier(options as never), JSON.stringify(options)).toThrowError(
        expect.objectContaining({ code: 'invalid_options' }),
      );
    }
  });
});

describe('publish modes', () => {
  it('reaches classic and sharded subscribers once each in "both" mode, for a gapless switch', async () => {
    const classic = await recordingSubscriber(redis.url);
    const sharded = await recordingSubscriber(redis.url);
    await classic.subscribe('ws:teacher-both');
    await sharded.ssubscribe('ws:teacher-both');
    const both = createNotifier({ redis: redis.url, publishMode: 'both' });
    try {
      expect((await both.publish('teacher-both', 'migration_probe', { n: 1 })).receivers).toBe(2);
      await waitFor(() => classic.messages.length === 1 && sharded.messages.length === 1, {
        message: 'one copy on each kind of subscriber',
      });
      // Only SPUBLISH reaches an SSUBSCRIBEr: the classic notifier misses the sharded subscriber.
      expect((await notifier.publish('teacher-both', 'migration_probe', { n: 2 })).receivers).toBe(
        1,
      );
      await waitFor(() => classic.messages.length === 2, { message: 'classic copy' });
      expect(sharded.messages).toHaveLength(1);
    } finally {
      await both.close();
      await classic.close();
      await sharded.close();
    }
  });

  it('refuses an unknown publish mode', () => {
    expect(() => createNotifier({ redis: redis.url, publishMode: 'fast' as never })).toThrow(
      'publishMode must be one of classic, sharded, both, got "fast"',
    );
  });
});
