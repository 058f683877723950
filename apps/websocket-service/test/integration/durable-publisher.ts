import { randomBytes } from 'node:crypto';
import {
  type DurablePublishResult,
  durablePublishArguments,
  durablePublishResult,
  durablePublishScript,
} from '@huleedu/test-support';
import { Redis } from 'ioredis';

/** One numbered notification, once Redis confirmed it. */
export interface PublishedNotification {
  readonly sequence: number;
  readonly userId: string;
  readonly position: number;
  readonly epoch: string;
  /** `performance.now()` when the first attempt started. */
  readonly at: number;
  /** Attempts it took (1 when Redis was there). */
  readonly attempts: number;
  /** Whether the confirming attempt found the idempotency key already used (an earlier try ran). */
  readonly duplicate: boolean;
}

/** Options of {@link SequencePublisher}. */
export interface SequencePublisherOptions {
  readonly redisUrl: string;
  /** Notification `n` goes to `users[n % users.length]`. */
  readonly users: readonly string[];
  /** Notifications per second (paced against a schedule: after an outage it catches up). */
  readonly ratePerSecond: number;
  /** Publish at least this many, even when {@link SequencePublisher.finish} is called earlier. */
  readonly minimum: number;
  /** Never more than this many (bounds the loop). */
  readonly maximum: number;
  /** History kept per user (the script's MAXLEN) and its TTL, seconds. */
  readonly historyLength: number;
  readonly historyTtlSeconds: number;
  /** Give up on one notification after this long of failed attempts. */
  readonly giveUpAfterMs: number;
}

const IDEMPOTENCY_TTL_SECONDS = 600;
const RETRY_PAUSE_MS = 20;
/**
 * Publishes sent and not yet answered, at most. With `appendfsync always` each write waits for an
 * fsync (milliseconds, more on a busy disk), so one at a time would fall short of 200/s;
 * Redis fsyncs once for all the commands it read in one turn.
 */
const MAX_IN_FLIGHT = 64;

/**
 * Publishes the numbered notifications `0, 1, 2, …` through the durable publish script (EVALSHA
 * of `@huleedu/notify/lua/publish.lua`) on one connection, paced to a schedule (after an outage
 * it catches up). Each number has its own idempotency key, and a failed attempt (Redis
 * restarting, its script cache empty, a reply lost with the connection) is retried with the same
 * key until Redis confirms it: every number is published exactly once.
 *
 * Order: Redis runs one connection's commands in the order sent. After a failure nothing new is
 * sent; once every attempt already sent is answered, the failed numbers are retried one at a
 * time, lowest first (SCRIPT LOAD, then EVALSHA), and sending resumes when all are confirmed.
 * Anything sent after a failed attempt failed too (the same dead connection, the same empty script
 * cache) or ran after it, so each user's numbers get increasing positions; the test checks that.
 */
export class SequencePublisher {
  /** Confirmed notifications, in sequence order (the confirmed prefix of the sequence). */
  readonly published: PublishedNotification[] = [];
  /** Failed attempts, by error message (for the report). */
  readonly failures = new Map<string, number>();
  /** Resolves when the last notification is confirmed; rejects if one could not be published. */
  readonly done: Promise<void>;

  private readonly redis: Redis;
  private readonly runId = randomBytes(6).toString('base64url');
  /** Confirmations that arrived before an earlier number's, by sequence number. */
  private readonly early = new Map<number, PublishedNotification>();
  /** Numbers whose attempt failed, waiting for the recovery chain, with their first try's time. */
  private readonly toRetry = new Map<number, number>();
  /** First attempts not answered yet. */
  private readonly inFlight = new Set<Promise<void>>();
  private recovering: Promise<void> | undefined;
  private failure: Error | undefined;
  private finishing = false;
  private closed = false;

  constructor(private readonly options: SequencePublisherOptions) {
    this.redis = new Redis(options.redisUrl, {
      // Reconnect fast while Redis restarts; this class retries, ioredis need not queue for long.
      retryStrategy: () => 50,
      maxRetriesPerRequest: 1,
      commandTimeout: 2_000,
      lazyConnect: true,
    });
    this.redis.on('error', () => undefined);
    this.done = this.run();
    this.done.catch(() => undefined);
  }

  /** Asks the publisher to stop once {@link SequencePublisherOptions.minimum} are confirmed. */
  finish(): Promise<void> {
    this.finishing = true;
    return this.done;
  }

  /** Stops at once (whatever is confirmed so far stays) and disconnects. Safe to call twice. */
  close(): void {
    this.finishing = true;
    this.closed = true;
    this.redis.disconnect();
  }

  private async run(): Promise<void> {
    const { ratePerSecond, minimum, maximum } = this.options;
    await this.redis.script('LOAD', durablePublishScript().source);
    const interval = 1000 / ratePerSecond;
    const start = performance.now();
    const inFlight = this.inFlight;
    for (let sequence = 0; sequence < maximum && !this.closed; sequence++) {
      if (this.finishing && sequence >= minimum) break;
      const wait = start + sequence * interval - performance.now();
      if (wait > 0) await pause(wait);
      // Bounded: the recovery chain gives up after giveUpAfterMs; answers free the window.
      while (
        this.failure === undefined &&
        !this.closed &&
        (this.recovering !== undefined || inFlight.size >= MAX_IN_FLIGHT)
      ) {
        await (this.recovering ?? Promise.race(inFlight));
      }
      if (this.failure !== undefined || this.closed) break;
      const sending = this.sendOnce(sequence, performance.now());
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
    }
    await Promise.all(inFlight);
    await this.recovering;
    if (this.failure !== undefined) throw this.failure;
  }

  /** One attempt; a failure hands the number to the recovery chain. */
  private async sendOnce(sequence: number, at: number): Promise<void> {
    try {
      this.confirm(sequence, at, 1, await this.attempt(sequence));
    } catch (error) {
      this.noteFailure(error);
      this.toRetry.set(sequence, at);
      this.recovering ??= this.recover().finally(() => {
        this.recovering = undefined;
      });
    }
  }

  /**
   * Retries the failed numbers one at a time, lowest first, until none is left. It starts once
   * every first attempt is answered: an earlier number may still wait in ioredis (to be resent
   * after a reconnect, or to time out) and must not be overtaken.
   */
  private async recover(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    while (this.toRetry.size > 0 && !this.closed) {
      const sequence = Math.min(...this.toRetry.keys());
      const at = this.toRetry.get(sequence)!;
      this.toRetry.delete(sequence);
      for (let attempts = 2; !this.closed; attempts++) {
        try {
          await pause(RETRY_PAUSE_MS);
          await this.redis.script('LOAD', durablePublishScript().source);
          this.confirm(sequence, at, attempts, await this.attempt(sequence));
          break;
        } catch (error) {
          const message = this.noteFailure(error);
          if (performance.now() - at > this.options.giveUpAfterMs) {
            this.failure = new Error(
              `notification ${sequence} not published after ${attempts} attempts: ${message}`,
            );
            return;
          }
        }
      }
    }
  }

  private async attempt(sequence: number): Promise<DurablePublishResult> {
    const { users, historyLength, historyTtlSeconds } = this.options;
    const userId = users[sequence % users.length]!;
    const envelope = {
      event: 'batch_processing_started',
      data: { batch_id: `chaos-${this.runId}`, sequence },
    };
    const args = durablePublishArguments(userId, envelope, {
      historyLength,
      historyTtlSeconds,
      idempotencyKey: `${this.runId}-${sequence}`,
      idempotencyTtlSeconds: IDEMPOTENCY_TTL_SECONDS,
    });
    return durablePublishResult(await this.redis.evalsha(durablePublishScript().sha, ...args));
  }

  /** Records a confirmation; keeps {@link SequencePublisher.published} in sequence order. */
  private confirm(
    sequence: number,
    at: number,
    attempts: number,
    { position, epoch, duplicate }: DurablePublishResult,
  ): void {
    const userId = this.options.users[sequence % this.options.users.length]!;
    this.early.set(sequence, { sequence, userId, position, epoch, at, attempts, duplicate });
    for (let next = this.early.get(this.published.length); next !== undefined; ) {
      this.early.delete(next.sequence);
      this.published.push(next);
      next = this.early.get(this.published.length);
    }
  }

  /** Counts a failed attempt by kind; returns its message. */
  private noteFailure(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    const kind = message.split(/[.:]/, 1)[0] ?? message;
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
    return message;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
