import { isUtf8 } from 'node:buffer';
import { envelopeSchema, type ParseEnvelopeResult, parseEnvelope } from '@huleedu/ws-protocol';
import { z } from 'zod';

// The shared envelope schema as zod compiles it: the same checks and messages, without zod's
// per-node dispatch on every payload (see docs/benchmarks.md for what validation costs).
const envelope = z.compile(envelopeSchema);

/**
 * A Redis payload (live, or a stored history entry) as an envelope, or why it is not one: not
 * UTF-8 (a browser fails the connection on such a text frame), not JSON, not `{event, data}`.
 */
export function parsePayload(payload: Buffer): ParseEnvelopeResult {
  return isUtf8(payload)
    ? parseEnvelope(payload.toString('utf8'), envelope)
    : { ok: false, reason: 'not UTF-8' };
}
