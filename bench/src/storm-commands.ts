import {
  type CommandCalls,
  callsBetween,
  scaleCalls,
  sortedCalls,
  subtractCalls,
  totalCalls,
} from './commandstats.js';

/**
 * The Redis commands a reconnect storm costs the server: what Redis counted from the signal until
 * every socket was back (and synced, with history), less what the bench itself sent in that time.
 */
export interface StormRedisCommands {
  /** The server's commands in the window (the publisher's and the bench's own left out). */
  total: number;
  /** Sockets reopened since the signal, what `perSocket` divides by. */
  sockets: number;
  /** `total / sockets`; null when no socket came back. */
  perSocket: number | null;
  /** The server's commands by name, most called first. */
  byCommand: CommandCalls;
  /** Everything Redis counted in the window. */
  counted: number;
  /**
   * Of `counted`, the publisher's: its messages in the window times its commands per message
   * (each EVALSHA and the commands its script runs, or each PUBLISH), measured while it sent alone
   * before the signal.
   */
  publisher: number;
  /** Of `counted`, the bench's own: its `INFO commandstats` readings and `PUBSUB NUMSUB` polls. */
  bench: number;
}

/** The readings {@link stormCommands} works from. */
export interface StormCommandReadings {
  /** `INFO commandstats` as the signal was sent, and once every socket was back. */
  atSignal: CommandCalls;
  atEnd: CommandCalls;
  /** `INFO commandstats` readings the bench took inside the window (each one an `info` call). */
  readingsInWindow: number;
  /** The publisher's messages in the window. */
  publisherMessages: number;
  /**
   * What Redis ran while the publisher sent alone before the signal (the reading that opened that
   * stretch already left out), and its messages then; absent when nothing was published.
   */
  publisherAlone?: { calls: CommandCalls; messages: number };
  /** Sockets reopened since the signal. */
  sockets: number;
}

/** The bench's `PUBSUB NUMSUB` polls (neither server sends that command). */
const BENCH_POLL = 'pubsub|numsub';

/** The server's Redis commands of a storm window, from the readings around it. */
export function stormCommands(r: StormCommandReadings): StormRedisCommands {
  const window = callsBetween(r.atSignal, r.atEnd);
  const own: CommandCalls = { info: r.readingsInWindow };
  if (window[BENCH_POLL]) own[BENCH_POLL] = window[BENCH_POLL];
  const alone = r.publisherAlone;
  // Scaled before rounding: a script's few commands per message stay exact over many messages.
  const publisherCalls =
    alone && alone.messages > 0 && r.publisherMessages > 0
      ? scaleCalls(alone.calls, r.publisherMessages / alone.messages)
      : {};
  const server = subtractCalls(subtractCalls(window, own), publisherCalls);
  const counted = totalCalls(window);
  const total = totalCalls(server);
  const bench = counted - totalCalls(subtractCalls(window, own));
  return {
    total,
    sockets: r.sockets,
    perSocket: r.sockets > 0 ? total / r.sockets : null,
    byCommand: sortedCalls(server),
    counted,
    publisher: counted - bench - total,
    bench,
  };
}

/** Commands listed by name in {@link stormCommandsText}. */
const LISTED = 5;

/**
 * `12,345 (6.17 per reconnected socket; evalsha 4,000, ssubscribe 2,000, ...; left out: the
 * publisher's 1,200, the bench's 3)`, for the report table.
 */
export function stormCommandsText(c: StormRedisCommands): string {
  const n = (value: number): string => value.toLocaleString('en-US');
  const names = Object.entries(c.byCommand);
  const listed = names.slice(0, LISTED).map(([name, calls]) => `${name} ${n(calls)}`);
  if (names.length > LISTED) {
    const rest = names.slice(LISTED).reduce((sum, [, calls]) => sum + calls, 0);
    listed.push(`${names.length - LISTED} other commands ${n(rest)}`);
  }
  const perSocket = c.perSocket === null ? '-' : c.perSocket.toFixed(2);
  return `${n(c.total)} (${perSocket} per reconnected socket; ${listed.join(', ') || 'none'}; left out: the publisher's ${n(c.publisher)}, the bench's ${n(c.bench)})`;
}
