import * as z from 'zod/mini';
import { id } from './fields.js';
import { problemsWith } from './issues.js';

/**
 * The wire format of every notification, on Redis and on the socket: `{"event", "data"}`.
 * Existing backends publish exactly this; `id` is an optional per-message id added by
 * `@huleedu/notify`. Unknown extra top-level fields are kept (loose), so new fields can be added
 * without breaking older readers.
 */
export const envelopeSchema = z.looseObject(
  {
    event: id(),
    data: z.looseObject({}, 'an object'),
    id: z.optional(z.string('a string')),
  },
  'an object',
);

/** An envelope as read from Redis or a socket: `{event, data, id?}` plus any extra fields. */
export type Envelope = z.infer<typeof envelopeSchema>;

/** Result of {@link parseEnvelope} and {@link checkEnvelope}: the envelope, or what is wrong. */
export type ParseEnvelopeResult = { ok: true; envelope: Envelope } | { ok: false; reason: string };

/**
 * Checks a parsed JSON value against {@link envelopeSchema}. Never throws; `reason` names each bad
 * field (`event: expected a non-empty string, got nothing`). The envelope returned is `value`
 * itself, extra fields and all. `schema` may be the envelope schema compiled by zod
 * (`z.compile(envelopeSchema)`: same checks and issues, faster), as the service's hot path does.
 */
export function checkEnvelope(
  value: unknown,
  schema: typeof envelopeSchema = envelopeSchema,
): ParseEnvelopeResult {
  const reason = problemsWith(schema, value);
  if (reason) return { ok: false, reason };
  return { ok: true, envelope: value as Envelope };
}

/**
 * Parses one text frame or Redis payload as an envelope. Never throws: malformed input yields
 * `{ ok: false, reason }` (for example `not JSON` or `event: expected a non-empty string, got nothing`).
 * `schema`: see {@link checkEnvelope}.
 */
export function parseEnvelope(
  text: string,
  schema: typeof envelopeSchema = envelopeSchema,
): ParseEnvelopeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return checkEnvelope(value, schema);
}
