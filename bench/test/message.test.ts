import { parseEnvelope, validateNotification } from '@huleedu/ws-protocol';
import { describe, expect, it } from 'vitest';
import { benchEnvelopeJson, readSentAt, readSentAtFromObject } from '../src/message.js';

describe('bench notification', () => {
  it('is a valid catalogue notification, so a validating server forwards it', () => {
    const parsed = parseEnvelope(benchEnvelopeJson(7, 1_700_000_000_123.456));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const checked = validateNotification(parsed.envelope);
    expect(checked).toMatchObject({ ok: true, known: true });
  });

  it('carries the send time with sub-millisecond precision, read without a JSON parse', () => {
    const json = benchEnvelopeJson(1, 1_700_000_000_123.456);
    expect(readSentAt(json)).toBe(1_700_000_000_123.456);
    expect(readSentAt(Buffer.from(json))).toBe(1_700_000_000_123.456);
    expect(readSentAtFromObject(JSON.parse(json))).toBe(1_700_000_000_123.456);
  });

  it('still finds the send time when a server adds fields to the envelope', () => {
    const envelope = JSON.parse(benchEnvelopeJson(2, 1234.5));
    const reserialised = JSON.stringify({ id: 'abc', ...envelope, extra: true });
    expect(readSentAt(reserialised)).toBe(1234.5);
  });

  it('ignores frames that are not bench notifications', () => {
    expect(readSentAt('pong')).toBeUndefined();
    expect(readSentAt(Buffer.from('{"event":"x","data":{}}'))).toBeUndefined();
    expect(readSentAtFromObject(null)).toBeUndefined();
  });
});
