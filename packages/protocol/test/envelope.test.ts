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
    expect(parseEnvelope('[1,2]')).toEqual({ ok: false, reason: 'expected an object, got a list' });
    expect(parseEnvelope('null')).toEqual({ ok: false, reason: 'expected an object, got null' });
    expect(parseEnvelope('{"data":{}}')).toEqual({
      ok: false,
      reason: 'event: expected a non-empty string, got nothing',
    });
    expect(parseEnvelope('{"event":"","data":{}}')).toEqual({
      ok: false,
      reason: 'event: expected a non-empty string, got ""',
    });
    expect(parseEnvelope('{"event":"x","data":"nope"}')).toEqual({
      ok: false,
      reason: 'data: expected an object, got "nope"',
    });
    expect(parseEnvelope('{"event":"x","data":[]}')).toEqual({
      ok: false,
      reason: 'data: expected an object, got a list',
    });
    expect(parseEnvelope('{"event":"x","data":{},"id":7}')).toEqual({
      ok: false,
      reason: 'id: expected a string, got number 7',
    });
  });
});
