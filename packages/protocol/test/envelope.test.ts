import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../src/index.js';

describe('parseEnvelope', () => {
  it('accepts the legacy {event,data} shape and keeps extra fields', () => {
    const result = parseEnvelope('{"event":"batch_results_ready","data":{"batch_id":"b1"},"x":1}');
    expect(result).toEqual({
      ok: true,
      envelope: { event: 'batch_results_ready', data: { batch_id: 'b1' }, x: 1 },
    });
  });

  it('names the problem for malformed payloads', () => {
    expect(parseEnvelope('not json')).toEqual({ ok: false, reason: 'not JSON' });
    expect(parseEnvelope('[1,2]')).toMatchObject({ ok: false, reason: '(root): expected object' });
    expect(parseEnvelope('{"data":{}}')).toMatchObject({
      ok: false,
      reason: 'event: expected string',
    });
    expect(parseEnvelope('{"event":"","data":{}}')).toMatchObject({
      ok: false,
      reason: 'event: too small (minimum 1)',
    });
    expect(parseEnvelope('{"event":"x","data":"nope"}')).toMatchObject({
      ok: false,
      reason: 'data: expected record',
    });
  });
});
