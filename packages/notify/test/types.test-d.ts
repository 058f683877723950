// Compile-time contract of publishUserNotification, checked by tsc (`pnpm typecheck`, `lint`)
// and by vitest's typecheck mode. Nothing here runs: every `@ts-expect-error` line must fail to
// compile, or tsc reports the directive as unused and the check fails.
import { expectTypeOf, test } from 'vitest';
import {
  createNotificationEnvelope,
  createNotifier,
  type NotificationEnvelope,
  type Notifier,
  type PublishPayload,
  type PublishResult,
} from '../src/index.js';

declare const notifier: Notifier;

test('a correct payload compiles and resolves to a PublishResult', () => {
  expectTypeOf(
    notifier.publishUserNotification('teacher-1', 'batch_results_ready', {
      batch_id: 'b1',
      results_count: 3,
      message: 'Results ready',
    }),
  ).toEqualTypeOf<Promise<PublishResult>>();
  // Optional fields may be given or left out.
  void notifier.publishUserNotification(
    'teacher-1',
    'batch_results_ready',
    { batch_id: 'b1', class_id: null, results_count: 3, message: 'ok' },
    {
      priority: 'critical',
      deadline: new Date(),
      actionRequired: true,
      correlationId: 'c-1',
      idempotencyKey: 'batch-b1:results',
    },
  );
  void notifier.publish('teacher-1', 'custom', {}, { idempotencyKey: 'k' });
});

test('the result says where the message went', () => {
  expectTypeOf<PublishResult>().toEqualTypeOf<{
    id: string;
    position: number | null;
    epoch: string | null;
    receivers: number;
    duplicate: boolean;
  }>();
});

test('history options are checked by the compiler', () => {
  void createNotifier({ redis: 'redis://x', history: false });
  void createNotifier({ redis: 'redis://x', history: { maxLength: 500, ttlSeconds: 3600 } });
  // @ts-expect-error history is an object or false
  void createNotifier({ redis: 'redis://x', history: true });
  // @ts-expect-error maxLen is not a history option
  void createNotifier({ redis: 'redis://x', history: { maxLen: 5 } });
});

test('an unknown type does not compile', () => {
  // @ts-expect-error 'batch_results_redy' is not a notification type
  void notifier.publishUserNotification('teacher-1', 'batch_results_redy', { message: 'x' });
});

test('a wrong field type does not compile', () => {
  void notifier.publishUserNotification('teacher-1', 'batch_results_ready', {
    batch_id: 'b1',
    // @ts-expect-error results_count is a number
    results_count: '3',
    message: 'Results ready',
  });
});

test('an unknown field does not compile: publishers are strict', () => {
  void notifier.publishUserNotification('teacher-1', 'batch_results_ready', {
    batch_id: 'b1',
    // @ts-expect-error 'clas_id' does not exist in the payload of batch_results_ready
    clas_id: 'c1',
    results_count: 3,
    message: 'Results ready',
  });
});

test('a missing required field does not compile', () => {
  // @ts-expect-error results_count is required for batch_results_ready
  void notifier.publishUserNotification('teacher-1', 'batch_results_ready', {
    batch_id: 'b1',
    message: 'Results ready',
  });
});

test('the payload of another type does not fit', () => {
  void notifier.publishUserNotification('teacher-1', 'pipeline_completed', {
    batch_id: 'b1',
    // @ts-expect-error results_count is not a field of pipeline_completed
    results_count: 3,
    message: 'Results ready',
  });
});

test('shared fields are set through options, not the payload', () => {
  void notifier.publishUserNotification('teacher-1', 'batch_results_ready', {
    batch_id: 'b1',
    results_count: 3,
    message: 'Results ready',
    // @ts-expect-error priority belongs in options
    priority: 'high',
  });
  void notifier.publishUserNotification(
    'teacher-1',
    'batch_results_ready',
    { batch_id: 'b1', results_count: 3, message: 'Results ready' },
    // @ts-expect-error 'urgent' is not a priority
    { priority: 'urgent' },
  );
});

test('the built envelope is typed by its notification type', () => {
  const envelope = createNotificationEnvelope('batch_results_ready', {
    batch_id: 'b1',
    results_count: 3,
    message: 'ok',
  });
  expectTypeOf(envelope).toEqualTypeOf<NotificationEnvelope<'batch_results_ready'>>();
  expectTypeOf(envelope.data.results_count).toEqualTypeOf<number>();
  expectTypeOf(envelope.data.priority).toEqualTypeOf<
    'critical' | 'immediate' | 'high' | 'standard' | 'low'
  >();
  expectTypeOf<PublishPayload<'class_created'>>().toHaveProperty('class_id');
});
