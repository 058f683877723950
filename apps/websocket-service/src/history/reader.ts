import { HISTORY_ENTRY_FIELD, historyKeys } from '@huleedu/ws-protocol';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { connectTo, OutageLog, type RedisSettings } from '../redis/connection.js';
import { Fifo } from './fifo.js';

/**
 * Reads the histories of one or more users, each in one atomic step (the script runs whole: the
 * meta hash and the stream entries after the earliest position any socket needs), so a user's
 * entries always belong to the epoch and top reported with them.
 *
 * KEYS: stream and meta of each user, in pairs. ARGV, per user in the same order: limit (a
 * position further behind the top than this is not read: that socket gets `replay_limit`),
 * recent (the last N entries too, 0: none), the number of marks, and the marks: pairs of
 * position and epoch (`''`: none, position 0), one per socket to catch up. Returns one {epoch, top, entries} per user, in
 * order ({'', 0, {}} without meta); entries as XRANGE gives them, at most max(limit, recent).
 */
export const READ_SCRIPT = `
local replies = {}
local a = 1
for k = 1, #KEYS, 2 do
  local limit, recent, marks = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local first = a + 3
  a = first + 2 * marks
  local meta = redis.call('HMGET', KEYS[k + 1], 'epoch', 'top')
  local epoch = meta[1]
  if not epoch then
    replies[#replies + 1] = {'', 0, {}}
  else
    local top = tonumber(meta[2]) or 0
    local start = top
    if recent > 0 then start = math.max(top - recent, 0) end
    for i = first, a - 1, 2 do
      local position, known = tonumber(ARGV[i]), ARGV[i + 1]
      if (known == epoch or known == '') and position < start and top - position <= limit then
        start = position
      end
    end
    if start >= top then
      replies[#replies + 1] = {epoch, top, {}}
    else
      replies[#replies + 1] = {epoch, top, redis.call('XRANGE', KEYS[k],
        string.format('%d-0', start + 1), '+', 'COUNT', top - start)}
    end
  end
end
return replies
`;

/** One stored message: its position and the exact bytes that were published. */
export interface HistoryEntry {
  readonly position: number;
  readonly message: Buffer;
}

/** What one read found: the history's epoch (`null`: no history) and top, and the entries read. */
export interface HistorySnapshot {
  readonly epoch: string | null;
  readonly top: number;
  /** Ascending and contiguous (a stream trimmed by count loses its oldest entries only). */
  readonly entries: readonly HistoryEntry[];
}

/** What to read for one user. */
export interface HistoryReadRequest {
  /** Positions further behind the top than this are not read (they cannot be replayed). */
  readonly limit: number;
  /** Also read the last `recent` entries (a first connect's `recent`). */
  readonly recent: number;
  /** Where each socket to catch up stands: position, then epoch (`''`: none), repeated. */
  readonly marks: readonly (number | string)[];
}

/** Options of {@link HistoryReader}. */
export interface HistoryReaderOptions {
  readonly redis: RedisSettings;
  readonly channelPrefix: string;
  readonly logger: Logger;
  /** A read that has not answered after this long is rejected with a {@link HistoryReadError}. */
  readonly timeoutMs: number;
}

/** Why a read failed: `timeout` (no answer in time) or `error` (Redis refused or disconnected). */
export class HistoryReadError extends Error {
  /** Machine-readable code. */
  readonly code = 'history_read_failed';
  constructor(
    readonly kind: 'timeout' | 'error',
    message: string,
  ) {
    super(message);
    this.name = 'HistoryReadError';
  }
}

/** How long a clean QUIT may take at shutdown before the connection is dropped. */
const QUIT_TIMEOUT_MS = 2000;

type ReadReply = [Buffer, number, [Buffer, Buffer[]][]];

/** A read waiting for its answer, and when it times out (`performance.now()` ms). */
interface ReadInFlight {
  readonly userId: string;
  readonly request: HistoryReadRequest;
  readonly deadline: number;
  readonly resolve: (snapshot: HistorySnapshot) => void;
  readonly reject: (error: HistoryReadError) => void;
  /** Answered, failed or timed out: whatever comes later for it is ignored. */
  settled: boolean;
}

/** `read`'s promise callbacks the first time it settles; undefined once it has. */
function settle(read: ReadInFlight): ReadInFlight | undefined {
  if (read.settled) return undefined;
  read.settled = true;
  return read;
}

/**
 * Most users one script call reads: the reads of one turn share a call, and Redis runs a script
 * whole, so this bounds how long one call holds it.
 */
export const READ_BATCH_MAX_USERS = 64;
interface ReadCommands {
  /** One user: its two keys first (a Cluster client routes, and auto-pipelines, by the first). */
  huleeduHistoryReadBuffer(...args: (string | number)[]): Promise<ReadReply[]>;
  /** Several users: the number of keys first. */
  huleeduHistoryReadManyBuffer(...args: (string | number)[]): Promise<ReadReply[]>;
}

/**
 * The service's one connection for history reads: a plain (non-subscriber) connection, or a
 * Cluster client that sends each read to the master owning the user's slot (every key of a user
 * shares the slot of the user's channel). The reads issued in one event-loop turn share one
 * script call on a single Redis (up to {@link READ_BATCH_MAX_USERS} users each; in a Cluster one
 * call per user, since users' keys live in different slots), and calls of the same turn share
 * one pipeline (ioredis auto-pipelining), so a storm of thousands of reads costs a few commands
 * and round trips. While the connection is down, reads wait for it (bounded by the timeout).
 */
export class HistoryReader {
  readonly #options: HistoryReaderOptions;
  readonly #redis: Redis | Cluster;
  #closed = false;
  /**
   * Reads in the order sent, so deadlines ascend: one timer, set for the oldest unanswered
   * read, times them all out (no timer per read). Answered reads are skipped when it fires.
   */
  readonly #inFlight = new Fifo<ReadInFlight>();
  #timer: NodeJS.Timeout | undefined;
  readonly #expire = (): void => this.#timeOut();
  /** Reads of this turn not sent yet, and how many users one call may read. */
  #batch: ReadInFlight[] = [];
  readonly #batchMax: number;
  readonly #flush = (): void => this.#send();

  constructor(options: HistoryReaderOptions) {
    this.#options = options;
    this.#redis = connectTo(
      options.redis,
      {
        enableAutoPipelining: true,
        // Our own timer bounds every read. While Redis restarts a read waits for a few reconnect
        // attempts before ioredis fails it, so the reads that follow a resubscription find it back.
        maxRetriesPerRequest: 3,
        connectionName: 'huleedu-websocket-service-history',
      },
      { enableAutoPipelining: true },
    );
    this.#redis.defineCommand('huleeduHistoryRead', { numberOfKeys: 2, lua: READ_SCRIPT });
    this.#redis.defineCommand('huleeduHistoryReadMany', { lua: READ_SCRIPT });
    this.#batchMax = options.redis.mode === 'cluster' ? 1 : READ_BATCH_MAX_USERS;
    // The subscriber reports the same outage too.
    new OutageLog(options.logger, 'redis history reader error').watch(
      this.#redis,
      () => this.#closed,
    );
  }

  /** Starts connecting; reads issued before the connection is ready wait for it. */
  start(): void {
    this.#redis.connect().catch((error: Error) => {
      this.#options.logger.debug({ err: error.message }, 'first history reader connection failed');
    });
  }

  /**
   * Reads `userId`'s history for `request`. Rejects with a {@link HistoryReadError} when Redis
   * refuses, the connection fails, or no answer came within the timeout.
   */
  read(userId: string, request: HistoryReadRequest): Promise<HistorySnapshot> {
    return new Promise<HistorySnapshot>((resolve, reject) => {
      const read: ReadInFlight = {
        userId,
        request,
        deadline: performance.now() + this.#options.timeoutMs,
        resolve,
        reject,
        settled: false,
      };
      this.#inFlight.push(read);
      this.#timer ??= setTimeout(this.#expire, this.#options.timeoutMs);
      const batch = this.#batch;
      batch.push(read);
      if (batch.length >= this.#batchMax) this.#send();
      else if (batch.length === 1) process.nextTick(this.#flush);
    });
  }

  /** Sends the reads of this turn not sent yet as one script call. */
  #send(): void {
    const reads = this.#batch;
    if (reads.length === 0) return;
    this.#batch = [];
    const { channelPrefix } = this.#options;
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const { userId, request } of reads) {
      const { stream, meta } = historyKeys(userId, channelPrefix);
      keys.push(stream, meta);
      args.push(request.limit, request.recent, request.marks.length / 2, ...request.marks);
    }
    const commands = this.#redis as unknown as ReadCommands;
    const call =
      reads.length === 1
        ? commands.huleeduHistoryReadBuffer(...keys, ...args)
        : commands.huleeduHistoryReadManyBuffer(keys.length, ...keys, ...args);
    call.then(
      (replies) => this.#answer(reads, replies),
      (error: Error) => {
        for (const read of reads) this.#fail(read, 'error', error.message);
      },
    );
  }

  /** Hands each read of a call its snapshot (or the reason its reply cannot be read). */
  #answer(reads: readonly ReadInFlight[], replies: unknown): void {
    const whole = Array.isArray(replies) && replies.length === reads.length;
    for (let i = 0; i < reads.length; i++) {
      const read = reads[i]!;
      let snapshot: HistorySnapshot;
      try {
        if (!whole) throw new Error('unexpected reply to the history read');
        snapshot = snapshotOf((replies as ReadReply[])[i]!);
      } catch (error) {
        this.#fail(read, 'error', (error as Error).message);
        continue;
      }
      settle(read)?.resolve(snapshot);
      this.#dropAnswered();
    }
  }

  /** Fails `read` if it is still waiting (an answer, a timeout or a close may come first). */
  #fail(read: ReadInFlight, kind: 'timeout' | 'error', message: string): void {
    settle(read)?.reject(new HistoryReadError(kind, message));
    this.#dropAnswered();
  }

  /** Drops the settled reads at the front (one connection answers in order: the list stays short). */
  #dropAnswered(): void {
    while (this.#inFlight.peek()?.settled === true) this.#inFlight.shift();
  }

  /** Fails every read past its deadline, then waits for the oldest one still unanswered. */
  #timeOut(): void {
    this.#timer = undefined;
    const now = performance.now();
    const message = `no answer within ${this.#options.timeoutMs} ms`;
    for (let read = this.#inFlight.peek(); read !== undefined; read = this.#inFlight.peek()) {
      if (!read.settled && read.deadline > now) {
        this.#timer = setTimeout(this.#expire, Math.max(read.deadline - now, 1));
        return;
      }
      this.#fail(read, 'timeout', message);
    }
  }

  /** Leaves Redis (QUIT, or a drop when it does not answer in time). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const read of this.#inFlight.drain()) {
      settle(read)?.reject(new HistoryReadError('error', 'the history reader was closed'));
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#redis.quit().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, QUIT_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    this.#redis.disconnect();
  }
}

/** The script's reply as a {@link HistorySnapshot}; throws on a reply of another shape. */
export function snapshotOf(reply: ReadReply): HistorySnapshot {
  const [epoch, top, raw] = reply;
  if (!Buffer.isBuffer(epoch) || typeof top !== 'number' || !Array.isArray(raw)) {
    throw new Error('unexpected reply to the history read');
  }
  const entries: HistoryEntry[] = [];
  for (const [id, fields] of raw) {
    const dash = id.indexOf(0x2d); // '-'
    const position = Number(id.toString('latin1', 0, dash === -1 ? id.length : dash));
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i]!.toString() !== HISTORY_ENTRY_FIELD) continue;
      entries.push({ position, message: fields[i + 1]! });
      break;
    }
  }
  return { epoch: epoch.length === 0 ? null : epoch.toString(), top, entries };
}
