import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { notificationCatalog, notificationTypes } from '../src/index.js';
import { JSON_SCHEMA_FILE, protocolJsonSchemaText } from '../src/json-schema.js';
import { sampleMeta, samplePayloads } from './samples.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const committed = readFileSync(join(packageRoot, JSON_SCHEMA_FILE), 'utf8');
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(committed));

function errorsOf(message: unknown): string[] {
  return validate(message)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword} ${e.message}`);
}

describe('schema/notifications.schema.json', () => {
  it('is what the zod schemas generate (run `pnpm --filter @huleedu/ws-protocol build:schema` after changing them)', () => {
    expect(committed).toBe(protocolJsonSchemaText());
  });

  it('has one definition per notification type plus the envelope', () => {
    const { $defs } = JSON.parse(committed) as { $defs: Record<string, unknown> };
    expect(Object.keys($defs)).toEqual(['envelope', ...notificationTypes]);
  });

  it('accepts a sample of every type, as a publisher sends it', () => {
    for (const type of notificationTypes) {
      const data = {
        ...samplePayloads[type],
        ...sampleMeta,
        category: notificationCatalog[type].category,
      };
      expect(errorsOf({ event: type, data, id: 'm-1' }), type).toEqual([]);
    }
  });

  it("accepts the root README's raw legacy PUBLISH example", () => {
    const readme = readFileSync(join(packageRoot, '../../README.md'), 'utf8');
    const line = readme.split('\n').find((l) => l.startsWith("PUBLISH ws:teacher-1 '{"));
    expect(line, 'the README example').toBeDefined();
    const message = JSON.parse(line!.slice(line!.indexOf("'") + 1, line!.lastIndexOf("'")));
    expect(message.event).toBe('batch_results_ready');
    expect(errorsOf(message)).toEqual([]);
  });

  it('refuses what the zod schemas refuse: wrong types, missing and unknown fields', () => {
    const data = { ...samplePayloads.batch_results_ready, ...sampleMeta };
    const send = (d: Record<string, unknown>) =>
      errorsOf({ event: 'batch_results_ready', data: d });
    expect(send({ ...data, results_count: -1 })).toContain(
      '/data/results_count minimum must be >= 0',
    );
    expect(send({ ...data, clas_id: 'c1' })).toContain(
      '/data additionalProperties must NOT have additional properties',
    );
    const { message: _message, ...withoutMessage } = data;
    expect(send(withoutMessage)).toContain("/data required must have required property 'message'");
    expect(send({ ...data, timestamp: 'yesterday' }).join()).toContain('/data/timestamp pattern');
  });

  it('lets unknown events through with any data, but never a broken envelope', () => {
    expect(errorsOf({ event: 'essay_annotated', data: { anything: [1] }, extra: true })).toEqual(
      [],
    );
    expect(errorsOf({ event: '', data: {} })).not.toEqual([]);
    expect(errorsOf({ event: 'x', data: [] })).not.toEqual([]);
    expect(errorsOf({ event: 'x', data: {}, id: 7 })).not.toEqual([]);
  });
});
