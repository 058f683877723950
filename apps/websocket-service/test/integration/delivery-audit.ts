import type { PublishedNotification } from './durable-publisher.js';
import type { ReceivedNotification } from './resuming-client.js';

/** What one socket of a user got, as the audit needs it. */
export interface AuditedSocket {
  readonly name: string;
  readonly userId: string;
  readonly received: readonly ReceivedNotification[];
  /** `performance.now()` of each admission; the first is the initial connect. */
  readonly admittedAt: readonly number[];
  /** The `ws.resync` messages received, with `performance.now()` on arrival. */
  readonly resyncs: ReadonlyArray<{ readonly reason: string; readonly at: number }>;
}

/** One socket's figures for a set of published notifications. */
export interface SocketTally {
  readonly socket: string;
  /** Notifications of its user published in the window. */
  readonly due: number;
  /** Frames received carrying one of them (duplicates counted). */
  readonly received: number;
  /** Due but never received. */
  readonly lost: number;
  /** Received more than once (each extra copy counts). */
  readonly duplicates: number;
  /** Received after a higher number of the same user (each such frame counts). */
  readonly outOfOrder: number;
  /** Admissions after the first one, in the window. */
  readonly reconnects: number;
  /** Reasons of the `ws.resync` messages received in the window. */
  readonly resyncs: readonly string[];
}

/** A stretch of the stream, e.g. from one disruption to the next. */
export interface AuditWindow {
  readonly name: string;
  /** `performance.now()` bounds, [from, to). */
  readonly from: number;
  readonly to: number;
}

/**
 * Counts, for each socket, how the notifications its user was sent within `window` (by publish
 * time) arrived: lost, duplicated, out of order; and how often the socket was re-admitted and
 * told to resync within it.
 */
export function tallyWindow(
  window: AuditWindow,
  published: readonly PublishedNotification[],
  sockets: readonly AuditedSocket[],
): { window: string; sent: number; seconds: number; sockets: SocketTally[] } {
  const inWindowAt = (at: number) => at >= window.from && at < window.to;
  const inWindow = published.filter((p) => inWindowAt(p.at));
  return {
    window: window.name,
    // Publish times of the first and last notification sent in the window.
    seconds: inWindow.length < 2 ? 0 : (inWindow.at(-1)!.at - inWindow[0]!.at) / 1000,
    sent: inWindow.length,
    sockets: sockets.map((socket) => {
      const due = new Set(
        inWindow.filter((p) => p.userId === socket.userId).map((p) => p.sequence),
      );
      let received = 0;
      let outOfOrder = 0;
      let highest = -1;
      const seen = new Set<number>();
      for (const { sequence } of socket.received) {
        if (sequence < highest) outOfOrder += due.has(sequence) ? 1 : 0;
        highest = Math.max(highest, sequence);
        if (!due.has(sequence)) continue;
        received++;
        seen.add(sequence);
      }
      return {
        socket: socket.name,
        due: due.size,
        received,
        lost: due.size - seen.size,
        duplicates: received - seen.size,
        outOfOrder,
        reconnects: socket.admittedAt.slice(1).filter(inWindowAt).length,
        resyncs: socket.resyncs.filter(({ at }) => inWindowAt(at)).map(({ reason }) => reason),
      };
    }),
  };
}

/** One line per socket of a tally, for the test's report. */
export function formatTally(tally: ReturnType<typeof tallyWindow>): string {
  const lines = tally.sockets.map(
    (s) =>
      `  ${s.socket.padEnd(10)} due ${String(s.due).padStart(5)}  received ${String(s.received).padStart(5)}  lost ${s.lost}  duplicates ${s.duplicates}  out of order ${s.outOfOrder}  reconnects ${s.reconnects}` +
      (s.resyncs.length === 0 ? '' : `  resyncs ${s.resyncs.join(',')}`),
  );
  return [`${tally.window}: sent ${tally.sent} in ${tally.seconds.toFixed(1)} s`, ...lines].join(
    '\n',
  );
}
