import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { publishPositioned } from './history.js';

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
 * Publishes the numbered notifications `0, 1, 2, …` through the durable publish script
 * (`publishPositioned`: EVALSHA, EVAL after a Redis restart emptied the script cache), one at a
 * time so each user's numbers get increasing positions. Each has its own idempotency key, and a
 * failed attempt (Redis restarting, a reply lost with the connection) is retried with the same
 * key until Redis confirms it: every number is published exactly once.
 */
export class SequencePublisher {
  /** Confirmed notifications, in order. */
  readonly published: PublishedNotification[] = [];
  /** Failed attempts, by error message (for the report). */
  readonly failures = new Map<string, number>();
  /** Resolves when the last notification is confirmed; rejects if one could not be published. */
  readonly done: Promise<void>;

  private readonly redis: Redis;
  private readonly runId = randomBytes(6).toString('base64url');
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
    const interval = 1000 / ratePerSecond;
    const start = performance.now();
    for (let sequence = 0; sequence < maximum && !this.closed; sequence++) {
      if (this.finishing && sequence >= minimum) return;
      const due = start + sequence * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.published.push(await this.publishOne(sequence));
    }
  }

  private async publishOne(sequence: number): Promise<PublishedNotification> {
    const { users, historyLength, historyTtlSeconds, giveUpAfterMs } = this.options;
    const userId = users[sequence % users.length]!;
    const envelope = {
      event: 'batch_processing_started',
      data: { batch_id: `chaos-${this.runId}`, sequence },
    };
    const at = performance.now();
    for (let attempts = 1; !this.closed; attempts++) {
      try {
        const { position, epoch, duplicate } = await publishPositioned(
          this.redis,
          userId,
          envelope,
          {
            length: historyLength,
            ttlSeconds: historyTtlSeconds,
            idempotencyKey: `${this.runId}-${sequence}`,
            idempotencyTtlSeconds: IDEMPOTENCY_TTL_SECONDS,
          },
        );
        return { sequence, userId, position, epoch, at, attempts, duplicate };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const kind = message.split(/[.:]/, 1)[0] ?? message;
        this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
        if (performance.now() - at > giveUpAfterMs) {
          throw new Error(
            `notification ${sequence} not published after ${attempts} attempts: ${message}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      }
    }
    throw new Error(`publisher closed before notification ${sequence} was confirmed`);
  }
}
