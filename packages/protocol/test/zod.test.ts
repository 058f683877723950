import { describe, expect, it } from 'vitest';
import {
  checkEnvelope,
  type FieldSpec,
  notificationCatalog,
  notificationMetaFields,
  notificationTypes,
  parseSpec,
  validateNotification,
} from '../src/index.js';
import { dataSchemas, describeIssues, envelopeSchema, payloadSchemas } from '../src/zod.js';

// One good value and several bad ones per field kind; the zod schemas and the field checks must
// agree on every one of them.
const samples: Record<string, { good: unknown; bad: unknown[] }> = {
  id: { good: 'x-1', bad: ['', 3, null, [], {}] },
  text: { good: '', bad: [3, null, true, ['a']] },
  count: { good: 7, bad: [-1, 1.5, '7', Number.NaN, null] },
  seconds: { good: 2.5, bad: [-0.1, '2', Number.POSITIVE_INFINITY, null] },
  flag: { good: false, bad: ['false', 0, null] },
  texts: { good: ['a', 'b'], bad: [[1], 'a', null, {}] },
  time: { good: '2026-11-22T10:00:00+02:00', bad: ['2026-11-22', 'now', 5, null] },
  category: { good: 'system_alerts', bad: ['alerts', 1, null] },
  priority: { good: 'low', bad: ['LOW', null] },
};

function goodData(fields: Record<string, FieldSpec>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(fields)) {
    data[name] = samples[parseSpec(spec).kind]?.good;
  }
  return data;
}

describe('@huleedu/ws-protocol/zod', () => {
  it('accepts and refuses exactly what the field checks do, for every type and field', () => {
    let compared = 0;
    for (const type of notificationTypes) {
      const fields = { ...notificationCatalog[type].fields, ...notificationMetaFields };
      const base = goodData(fields);
      const variants: Record<string, unknown>[] = [base];
      for (const [name, spec] of Object.entries(fields)) {
        for (const bad of samples[parseSpec(spec).kind]?.bad ?? []) {
          variants.push({ ...base, [name]: bad });
        }
        const { [name]: _dropped, ...without } = base;
        variants.push(without);
      }
      for (const data of variants) {
        const byFields = validateNotification({ event: type, data }).ok;
        const byZod = dataSchemas[type].safeParse(data).success;
        expect({ type, data, byZod }).toEqual({ type, data, byZod: byFields });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('agrees on envelopes', () => {
    const values = [
      { event: 'a', data: {} },
      { event: 'a', data: {}, id: 'i' },
      { event: '', data: {} },
      { event: 'a', data: [] },
      { event: 'a', data: null },
      { event: 'a', data: {}, id: 1 },
      [],
      null,
      'x',
    ];
    for (const value of values) {
      expect(envelopeSchema.safeParse(value).success).toBe(checkEnvelope(value).ok);
    }
  });

  it('gives payload schemas for backends, with issues that name the field', () => {
    const result = payloadSchemas.batch_results_ready.safeParse({ batch_id: 'b', message: 'm' });
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(describeIssues(result.error.issues, 'data')).toBe(
        'data.results_count: invalid_type (expected number)',
      );
    }
  });
});
