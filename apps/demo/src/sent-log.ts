import type { Envelope } from '@huleedu/ws-protocol';

/**
 * What the demo published, newest last: the demo's stand-in for the notification table a real
 * app keeps behind its own API (`GET /api/notifications`), which a page refetches after
 * `ws.resync`.
 */
export interface SentLog {
  add(envelope: Envelope): void;
  /** The last `limit` envelopes added, oldest first. */
  list(): Envelope[];
}

/** A {@link SentLog} that keeps the last `limit` envelopes in memory. */
export function createSentLog(limit: number): SentLog {
  const envelopes: Envelope[] = [];
  return {
    add(envelope) {
      envelopes.push(envelope);
      if (envelopes.length > limit) envelopes.splice(0, envelopes.length - limit);
    },
    list: () => [...envelopes],
  };
}
