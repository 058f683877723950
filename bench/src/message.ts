import type { Envelope } from '@huleedu/ws-protocol';

/**
 * The notification every bench message is: a real catalogue type with a valid payload, so a
 * service that validates what it forwards treats it like production traffic. Two extra fields
 * (readers accept fields the catalogue does not know) carry what the load generator measures.
 */
export const BENCH_EVENT = 'batch_processing_started';

/** Field holding the publisher's wall-clock send time in ms; always the last field of `data`. */
export const SENT_AT_FIELD = 'bench_sent_at';

const SENT_AT_KEY = `"${SENT_AT_FIELD}":`;
const SENT_AT_KEY_BYTES = Buffer.from(SENT_AT_KEY);

/** The user id of bench user number `index`. */
export function benchUserId(index: number): string {
  return `bench-user-${index}`;
}

/** The bench notification as an object (what the Socket.IO emitter sends). */
export function benchEnvelope(seq: number, sentAtMs: number): Envelope {
  return {
    event: BENCH_EVENT,
    data: {
      batch_id: 'bench-batch',
      class_id: null,
      message: 'Benchmark notification',
      category: 'batch_progress',
      priority: 'low',
      action_required: false,
      deadline: null,
      correlation_id: `bench-${seq}`,
      timestamp: new Date(Math.floor(sentAtMs)).toISOString(),
      bench_seq: seq,
      [SENT_AT_FIELD]: Number(sentAtMs.toFixed(3)),
    },
  };
}

/**
 * The bench notification as the JSON text published on a user channel, byte for byte what the
 * service and the reference relay receive from Redis.
 */
export function benchEnvelopeJson(seq: number, sentAtMs: number): string {
  return JSON.stringify(benchEnvelope(seq, sentAtMs));
}

/**
 * Reads the send time out of a received text frame without parsing the whole JSON: the load
 * generator does this for every frame and must stay cheaper than the server it measures.
 * Returns `undefined` for frames that are not bench notifications (a `pong`, for example).
 */
export function readSentAt(frame: Buffer | string): number | undefined {
  const at =
    typeof frame === 'string'
      ? frame.lastIndexOf(SENT_AT_KEY)
      : frame.lastIndexOf(SENT_AT_KEY_BYTES);
  if (at < 0) return undefined;
  const start = at + SENT_AT_KEY.length;
  const text =
    typeof frame === 'string'
      ? frame.slice(start, start + 24)
      : frame.toString('latin1', start, start + 24);
  const value = Number.parseFloat(text);
  return Number.isFinite(value) ? value : undefined;
}

/** Reads the send time from an envelope object (what a Socket.IO client receives). */
export function readSentAtFromObject(envelope: unknown): number | undefined {
  const data = (envelope as { data?: Record<string, unknown> } | null)?.data;
  const value = data?.[SENT_AT_FIELD];
  return typeof value === 'number' ? value : undefined;
}
