import { describe, expect, it } from 'vitest';
import type * as z from 'zod/mini';
import {
  categories,
  categorySchema,
  checkPayload,
  count,
  dataSchemas,
  describeIssues,
  flag,
  id,
  isoTime,
  notificationCatalog,
  notificationMetaSchema,
  notificationTypes,
  priorities,
  prioritySchema,
  reportInput,
  seconds,
  text,
  texts,
  validateNotification,
} from '../src/index.js';
import { sampleMeta, samplePayloads } from './samples.js';

function problems(schema: z.ZodMiniType, value: unknown): string[] {
  const result = schema.safeParse(value, reportInput);
  return result.success ? [] : describeIssues(result.error.issues, 'd');
}

describe('field schemas', () => {
  it.each([
    [
      'id',
      id(),
      ['x-1', ' ', '\n', '\u{1F600}'],
      ['', 3, null, []],
      'd: expected a non-empty string, got ""',
    ],
    ['text', text(), ['', 'a'], [3, null, ['a']], 'd: expected a string, got number 3'],
    [
      'count',
      count(),
      [0, 7, Number.MAX_SAFE_INTEGER],
      [-1, 1.5, -1.5, 2 ** 53, 1e300, '7', Number.NaN, Number.POSITIVE_INFINITY, null],
      'd: expected a whole number >= 0, got number -1',
    ],
    [
      'seconds',
      seconds(),
      [0, -0, 2.5, 1e300],
      [-0.1, '2', Number.POSITIVE_INFINITY, Number.NaN, null],
      'd: expected a number >= 0, got number -0.1',
    ],
    [
      'categorySchema',
      categorySchema,
      [...categories],
      ['batch', 'Batch_progress', 3, null, undefined, ['batch_progress']],
      'd: expected one of batch_progress|processing_results|file_operations|class_management|student_workflow|system_alerts, got "batch"',
    ],
    [
      'prioritySchema',
      prioritySchema,
      [...priorities],
      ['urgent', 1],
      'd: expected one of critical|immediate|high|standard|low, got "urgent"',
    ],
    [
      'flag',
      flag(),
      [true, false],
      ['false', 0, null, undefined],
      'd: expected true or false, got "false"',
    ],
    ['texts', texts(), [[], ['a']], ['a', null, {}], 'd: expected a list of strings, got "a"'],
    [
      'isoTime',
      isoTime(),
      ['2026-11-22T10:00Z', '2026-11-22T10:00:00.123456', '2026-11-22T10:00:00+01:00'],
      ['2026-11-22', 'now', 5],
      'd: expected an ISO 8601 time like 2026-11-22T10:00:00Z, got "2026-11-22"',
    ],
  ] as const)(
    '%s accepts good values and names what it expected for bad ones',
    (_, schema, good, bad, first) => {
      for (const value of good) expect(problems(schema, value), JSON.stringify(value)).toEqual([]);
      for (const value of bad) expect(problems(schema, value), String(value)).toHaveLength(1);
      expect(problems(schema, bad[0])[0]).toBe(first);
    },
  );

  it('names the bad element of a list', () => {
    expect(problems(texts(), ['a', 1])).toEqual(['d.1: expected a string, got number 1']);
  });

  it('never echoes a long value whole', () => {
    expect(problems(count(), 'x'.repeat(1000))).toEqual([
      'd: expected a whole number >= 0, got "xxxxxxxxxxxxxxxxxxxxxxxx..."',
    ]);
  });
});

describe('payload schemas (publishers: strict)', () => {
  it('accept a sample of every type', () => {
    for (const type of notificationTypes) {
      expect(checkPayload(type, samplePayloads[type]), type).toEqual([]);
    }
  });

  it('name an unknown field, such as a misspelt optional one or a shared field', () => {
    expect(
      checkPayload('batch_results_ready', {
        ...samplePayloads.batch_results_ready,
        clas_id: 'c1',
        priority: 'high',
      }),
    ).toEqual(['data.clas_id: unknown field', 'data.priority: unknown field']);
  });

  it('name every bad and every missing field', () => {
    expect(checkPayload('pipeline_completed', { batch_id: '', message: 'm' })).toEqual([
      'data.batch_id: expected a non-empty string, got ""',
      'data.completed_phases: expected a list of strings, got nothing',
      'data.final_status: expected a string, got nothing',
    ]);
    expect(checkPayload('class_created', 'nope')).toEqual(['data: expected an object, got "nope"']);
  });
});

describe('data schemas (readers: loose)', () => {
  it('are the payload fields plus the shared fields, for every type', () => {
    for (const type of notificationTypes) {
      expect(Object.keys(dataSchemas[type].shape)).toEqual([
        ...Object.keys(notificationCatalog[type].payload.shape),
        ...Object.keys(notificationMetaSchema.shape),
      ]);
      const data = { ...samplePayloads[type], ...sampleMeta, added_later: { any: 'thing' } };
      expect(validateNotification({ event: type, data }), type).toMatchObject({ ok: true });
    }
  });

  it('share the field schema objects with the payload schemas', () => {
    for (const type of notificationTypes) {
      for (const [name, schema] of Object.entries(notificationCatalog[type].payload.shape)) {
        expect(dataSchemas[type].shape[name as never]).toBe(schema);
      }
    }
  });
});
