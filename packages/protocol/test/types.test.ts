import { describe, expectTypeOf, it } from 'vitest';
import type { NotificationData, NotificationPayload } from '../src/index.js';

type Results = NotificationPayload<'batch_results_ready'>;

describe('types inferred from the catalogue', () => {
  it('make required fields required and optional fields optional', () => {
    expectTypeOf<Results['batch_id']>().toEqualTypeOf<string>();
    expectTypeOf<Results['results_count']>().toEqualTypeOf<number>();
    expectTypeOf<Results['class_id']>().toEqualTypeOf<string | null | undefined>();
    expectTypeOf<Results['download_url']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<{ batch_id: 'b'; message: 'm'; results_count: 1 }>().toExtend<Results>();
    expectTypeOf<{ batch_id: 'b'; message: 'm' }>().not.toExtend<Results>();
    expectTypeOf<{ batch_id: 'b'; message: 'm'; results_count: '1' }>().not.toExtend<Results>();
  });

  it('type the shared fields and lists', () => {
    expectTypeOf<NotificationData<'pipeline_completed'>['completed_phases']>().toEqualTypeOf<
      string[]
    >();
    expectTypeOf<NotificationData<'class_created'>['priority']>().toEqualTypeOf<
      'critical' | 'immediate' | 'high' | 'standard' | 'low'
    >();
    expectTypeOf<NotificationData<'class_created'>['deadline']>().toEqualTypeOf<string | null>();
  });
});
