import type { Logger } from './logger.js';

/** Lines of one kind written per interval before the rest are suppressed (default). */
export const DEFAULT_LOG_LINES_PER_INTERVAL = 10;
/** Length of a rate-limiting interval, ms (default). */
export const DEFAULT_LOG_INTERVAL_MS = 10_000;
/**
 * Distinct kinds tracked at once. Kinds are meant to be a small fixed set (`rate_limited`,
 * `malformed_payload`, ...); should a caller ever pass something unbounded, the kinds beyond
 * this share one budget instead of growing the map.
 */
export const MAX_LOG_KINDS = 256;
/** The kind that kinds beyond {@link MAX_LOG_KINDS} are counted under. */
export const OVERFLOW_LOG_KIND = 'other';

/** Levels a rate-limited line can be written at. */
export type RateLimitedLevel = 'info' | 'warn' | 'error';

/** What {@link RateLimitedLog} needs. */
export interface RateLimitedLogOptions {
  readonly logger: Logger;
  /** Lines of one kind written per interval (default {@link DEFAULT_LOG_LINES_PER_INTERVAL}). */
  readonly linesPerInterval?: number;
  /** Interval length, ms (default {@link DEFAULT_LOG_INTERVAL_MS}). */
  readonly intervalMs?: number;
}

interface KindWindow {
  /** When the window opened (Date.now()). */
  readonly openedAt: number;
  written: number;
  suppressed: number;
  level: RateLimitedLevel;
  message: string;
  /** Set once the first line is suppressed: writes the summary when the window ends. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * A logger for events an attacker (or a broken publisher) can trigger at any rate: malformed
 * payloads, limits hit, sockets dropped. Each kind may write `linesPerInterval` lines per
 * interval; later lines of that kind are counted, not written, and when the interval ends one
 * line reports how many were suppressed. So a flood costs a bounded number of log lines and the
 * log still says that it happened and how big it was.
 *
 * The interval of a kind opens with its first line (no timer runs while nothing is suppressed);
 * timers are unref'd, and {@link close} writes any pending summary at once.
 */
export class RateLimitedLog {
  readonly #logger: Logger;
  readonly #linesPerInterval: number;
  readonly #intervalMs: number;
  readonly #windows = new Map<string, KindWindow>();
  #suppressedTotal = 0;

  constructor(options: RateLimitedLogOptions) {
    this.#logger = options.logger;
    this.#linesPerInterval = options.linesPerInterval ?? DEFAULT_LOG_LINES_PER_INTERVAL;
    this.#intervalMs = options.intervalMs ?? DEFAULT_LOG_INTERVAL_MS;
    if (!Number.isInteger(this.#linesPerInterval) || this.#linesPerInterval < 1) {
      throw new Error(
        `linesPerInterval must be a positive integer, got ${options.linesPerInterval}`,
      );
    }
    if (!Number.isFinite(this.#intervalMs) || this.#intervalMs <= 0) {
      throw new Error(`intervalMs must be a positive number, got ${options.intervalMs}`);
    }
  }

  /** Lines suppressed since this log was created (for a metric). */
  get suppressedTotal(): number {
    return this.#suppressedTotal;
  }

  /** Writes an info line of `kind`, unless that kind used its lines for this interval. */
  info(kind: string, fields: object, message: string): void {
    this.#write('info', kind, fields, message);
  }

  /** Writes a warn line of `kind`, unless that kind used its lines for this interval. */
  warn(kind: string, fields: object, message: string): void {
    this.#write('warn', kind, fields, message);
  }

  /** Writes an error line of `kind`, unless that kind used its lines for this interval. */
  error(kind: string, fields: object, message: string): void {
    this.#write('error', kind, fields, message);
  }

  /** Writes every pending summary now and stops the timers (at shutdown). */
  close(): void {
    for (const [kind, window] of this.#windows) this.#summarize(kind, window);
    this.#windows.clear();
  }

  #write(level: RateLimitedLevel, requested: string, fields: object, message: string): void {
    const now = Date.now();
    const kind =
      this.#windows.has(requested) || this.#windows.size < MAX_LOG_KINDS
        ? requested
        : OVERFLOW_LOG_KIND;
    let window = this.#windows.get(kind);
    if (window !== undefined && now - window.openedAt >= this.#intervalMs) {
      // Over, and nothing was suppressed in it (a suppressing window ends by its timer).
      this.#windows.delete(kind);
      window = undefined;
    }
    if (window === undefined) {
      window = { openedAt: now, written: 0, suppressed: 0, level, message, timer: undefined };
      this.#windows.set(kind, window);
    }
    if (window.written < this.#linesPerInterval) {
      window.written++;
      this.#logger[level]({ ...fields, kind: requested }, message);
      return;
    }
    window.suppressed++;
    this.#suppressedTotal++;
    window.level = level;
    window.message = message;
    if (window.timer === undefined) {
      const current = window;
      current.timer = setTimeout(
        () => {
          this.#summarize(kind, current);
          if (this.#windows.get(kind) === current) this.#windows.delete(kind);
        },
        Math.max(0, current.openedAt + this.#intervalMs - now),
      );
      current.timer.unref();
    }
  }

  #summarize(kind: string, window: KindWindow): void {
    clearTimeout(window.timer);
    window.timer = undefined;
    if (window.suppressed === 0) return;
    this.#logger[window.level](
      { kind, suppressed: window.suppressed, intervalMs: this.#intervalMs },
      `suppressed ${window.suppressed} more "${window.message}" lines`,
    );
    window.suppressed = 0;
  }
}
