import { describeValue, isRecord } from './fields.js';

/**
 * The wire format of every notification, on Redis and on the socket: `{"event", "data"}`.
 * Existing backends publish exactly this; `id` is an optional per-message id added by
 * `@huleedu/notify`. Unknown extra top-level fields are kept, so new fields can be added without
 * breaking older readers.
 */
export interface Envelope {
  event: string;
  data: Record<string, unknown>;
  id?: string;
  [extra: string]: unknown;
}

/** Result of {@link parseEnvelope} and {@link checkEnvelope}: the envelope, or what is wrong. */
export type ParseEnvelopeResult = { ok: true; envelope: Envelope } | { ok: false; reason: string };

/**
 * Checks that a parsed JSON value is an envelope: an object with a non-empty string `event`, an
 * object `data` and, when present, a string `id`. Never throws.
 */
export function checkEnvelope(value: unknown): ParseEnvelopeResult {
  if (!isRecord(value))
    return { ok: false, reason: `expected an object, got ${describeValue(value)}` };
  const { event, data, id } = value;
  if (typeof event !== 'string' || event === '') {
    return { ok: false, reason: `event: expected a non-empty string, got ${describeValue(event)}` };
  }
  if (!isRecord(data)) {
    return { ok: false, reason: `data: expected an object, got ${describeValue(data)}` };
  }
  if (id !== undefined && typeof id !== 'string') {
    return { ok: false, reason: `id: expected a string, got ${describeValue(id)}` };
  }
  return { ok: true, envelope: value as Envelope };
}

/**
 * Parses one text frame or Redis payload as an envelope. Never throws: malformed input yields
 * `{ ok: false, reason }` (for example `not JSON` or `event: expected a non-empty string, got nothing`).
 */
export function parseEnvelope(text: string): ParseEnvelopeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return checkEnvelope(value);
}
