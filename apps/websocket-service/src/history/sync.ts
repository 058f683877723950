import type { Socket } from 'node:net';
import { controlEvents, isReservedEvent, type ResyncReason } from '@huleedu/ws-protocol';
import type { ClientSocket } from '../client-socket.js';
import type { HistorySettings } from '../config.js';
import { OPEN, textFrame } from '../frames.js';
import { writeFrameWithinLimit } from '../limits/slow-consumer.js';
import type { Logger } from '../logger.js';
import type { HistoryStats, ServiceMetrics } from '../metrics.js';
import { dropReservedEvent, parsePayload } from '../payload.js';
import type { RateLimitedLog } from '../rate-limited-log.js';
import type { ConnectionRegistry } from '../registry.js';
import { Fifo } from './fifo.js';
import { syncOutcome } from './outcome.js';
import type { HistoryReadRequest, HistorySnapshot } from './reader.js';
import { ResponseHold, release } from './response-hold.js';
import {
  type ParsedResumeRequest,
  parseResumeRequest,
  type ResumeRequest,
} from './resume-request.js';
import {
  addReadMark,
  beginSync,
  joinLive,
  markAdopt,
  markSynced,
  needsEntriesNotAsked,
  noteHeldBack,
  syncStates,
} from './socket-state.js';

/** What the live path (`delivery.ts`, `socket-state.ts`) asks of the history. */
export interface LiveHistory {
  /**
   * While the user's history is being read, a positioned live message is held back from every
   * socket of the user (the read, or the next one, covers it): returns true, and notes it. False
   * when the user is live.
   */
  hold(userId: string, position: number, epoch: string): boolean;
  /** A live socket of the user missed positions (or saw another epoch): read to fill the gap. */
  gap(userId: string): void;
}

/** What the handshake (`sessions.ts`) asks of the history. */
export interface HistoryAdmission {
  /** The resume parameters of a request target, or why they are refused. */
  parse(requestUrl: string): ParsedResumeRequest;
  /**
   * An accepted handshake is about to be upgraded: its 101 response is held back (briefly) so
   * that it leaves with the socket's first sync in one write; not while reads wait in a queue.
   */
  holdResponse(transport: Socket): void;
  /** A socket was admitted and its user's channel retained: sync it once the channel is subscribed. */
  admit(socket: ClientSocket, request: ResumeRequest): void;
}

/** Reads one user's history (`HistoryReader`, or a gated one in unit tests). */
export interface HistorySource {
  read(userId: string, request: HistoryReadRequest): Promise<HistorySnapshot>;
  /** Starts connecting (called by {@link HistorySync.start}). */
  start?(): void;
  /** Leaves Redis (called by {@link HistorySync.close}). */
  close?(): Promise<void>;
}

/** What {@link HistorySync} needs. */
export interface HistorySyncOptions {
  readonly registry: ConnectionRegistry<ClientSocket>;
  readonly source: HistorySource;
  readonly settings: HistorySettings;
  /** Whether Redis confirmed the user's channel subscribed (see `Backplane.isSubscribed`). */
  readonly isSubscribed: (userId: string) => boolean;
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  /** Where failed reads and slow consumers are logged, at a bounded rate. */
  readonly dropLog: RateLimitedLog;
  /** Replayed frames obey the same outbound-buffer limit as live ones. */
  readonly maxBufferedBytes: number;
}

/** One user whose history is to be read: queued, or read in flight. */
class PendingRead {
  /** A read was sent and has not settled yet (else it waits in the queue). */
  reading = false;
  /** Read once more after the read in flight (a socket arrived, the subscription came back). */
  again = false;
  /** A positioned live message was held back while the read was in flight: the newest one. */
  held = false;
  heldPosition = 0;
  heldEpoch = '';
  /** Reads of this round that failed in a row; the user is told only after {@link READ_ATTEMPTS}. */
  failures = 0;
}

/**
 * Reads tried before the sockets are told `history_unavailable`: a stall of Redis (or of this
 * process) that outlasts one read timeout is common enough during a storm or a failover that a
 * resync, which makes every app refetch, should not follow the first timed-out read.
 */
export const READ_ATTEMPTS = 3;

/**
 * Syncs sockets with the user's history: on admission (resume, or a first connect with
 * `recent`), after the subscriber connection came back, and when the live path sees a gap.
 *
 * Order without per-socket queues: a read for a user is sent only once Redis confirmed the
 * user's channel subscribed, so every message published after the read reaches the live path;
 * while a read is queued or in flight, positioned live messages are held back from all the
 * user's sockets (the read covers them; if newer ones arrived before its answer, the user is read
 * again). After a read every socket stands at the history's top, and the live path sends each
 * socket only the position right after its own (`delivery.ts`, `socket-state.ts`).
 *
 * Reads are bounded: one per user at a time for all its sockets, at most
 * `readConcurrency` in flight per process (the rest queue, and reads sent in the same turn share
 * one pipeline), each with a timeout; a failed read tells its sockets `history_unavailable`.
 */
export class HistorySync implements LiveHistory, HistoryAdmission {
  readonly #options: HistorySyncOptions;
  readonly #pending = new Map<string, PendingRead>();
  /** Users whose read waits for a slot, in order. */
  readonly #queue = new Fifo<string>();
  #reading = 0;
  #closed = false;
  readonly #responses = new ResponseHold();

  constructor(options: HistorySyncOptions) {
    this.#options = options;
  }

  parse(requestUrl: string): ParsedResumeRequest {
    return parseResumeRequest(requestUrl, this.#options.settings.recentMax);
  }

  holdResponse(transport: Socket): void {
    // Reads waiting for a slot (a reconnect storm): the sync will not follow soon, so the
    // response goes now and the handshake is over for the client.
    if (this.#queue.size > 0) return;
    this.#responses.hold(transport);
  }

  admit(socket: ClientSocket, request: ResumeRequest): void {
    beginSync(socket, request);
    const { userId } = socket;
    const { isSubscribed, registry } = this.#options;
    // Not subscribed yet: `onSubscribed` sends the read once Redis confirms the channel.
    if (!isSubscribed(userId)) return;
    // Another tab of the user is live here and nothing is being read: no read needed.
    if (!this.#pending.has(userId) && joinLive(socket, registry.socketsOf(userId) ?? [], isOpen)) {
      this.#options.metrics.historyJoinedLive++;
      this.#synced(socket, 0);
      release(socket.transport);
      return;
    }
    this.#readFor(userId);
  }

  /**
   * Redis confirmed these users' channels subscribed: sockets waiting for it are synced, and live
   * ones catch up on whatever was published while the channel was not subscribed.
   */
  onSubscribed(userIds: readonly string[]): void {
    const { registry, metrics } = this.#options;
    for (const userId of userIds) {
      const sockets = registry.socketsOf(userId);
      if (sockets === undefined) continue;
      if (sockets.some((socket) => socket.syncState !== syncStates.SYNCING)) {
        metrics.caughtUp('resubscribe');
      }
      this.#readFor(userId);
    }
  }

  hold(userId: string, position: number, epoch: string): boolean {
    const pending = this.#pending.get(userId);
    if (pending === undefined) return false;
    for (const socket of this.#options.registry.socketsOf(userId) ?? []) {
      noteHeldBack(socket, position, epoch);
    }
    if (pending.reading) {
      // Messages of one channel arrive in publish order: the last one held is the newest.
      pending.held = true;
      pending.heldPosition = position;
      pending.heldEpoch = epoch;
    }
    return true;
  }

  gap(userId: string): void {
    this.#options.metrics.caughtUp('gap');
    this.#readFor(userId);
  }

  /** Where syncing stands, for `/metrics`. */
  stats(): HistoryStats {
    let syncingSockets = 0;
    this.#options.registry.forEachSocket((socket) => {
      if (socket.syncState === syncStates.SYNCING) syncingSockets++;
    });
    return {
      syncingSockets,
      readsInFlight: this.#reading,
      readsQueued: this.#queue.size,
    };
  }

  /** Starts the source's connection; reads sent before it is up wait for it. */
  start(): void {
    this.#options.source.start?.();
  }

  /** Stops reading (answers still on their way are ignored) and closes the source. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#responses.releaseAll();
    this.#pending.clear();
    this.#queue.drain();
    await this.#options.source.close?.();
  }

  /** Reads the user's history: now if a slot is free, else in turn; again if one is in flight. */
  #readFor(userId: string): void {
    if (this.#closed) return;
    const pending = this.#pending.get(userId);
    if (pending !== undefined) {
      // Queued: the read is built when it is sent, so it will include this socket or change.
      if (pending.reading) pending.again = true;
      return;
    }
    this.#pending.set(userId, new PendingRead());
    this.#queue.push(userId);
    this.#pump();
  }

  /** Sends queued reads while slots are free. */
  #pump(): void {
    const limit = this.#options.settings.readConcurrency;
    while (this.#reading < limit && this.#queue.size > 0) this.#send(this.#queue.shift()!);
  }

  #send(userId: string): void {
    const pending = this.#pending.get(userId);
    const sockets = this.#options.registry.socketsOf(userId);
    if (pending === undefined) return;
    if (sockets === undefined) {
      this.#pending.delete(userId);
      return;
    }
    // The sockets this read is for; one admitted meanwhile sets `again` and waits for the next.
    const targets = sockets.slice();
    const marks: (number | string)[] = [];
    let recent = 0;
    for (const socket of targets) recent = Math.max(recent, addReadMark(socket, marks));
    pending.reading = true;
    pending.again = false;
    pending.held = false;
    this.#reading++;
    this.#options.metrics.historyReads++;
    const { settings, source, logger } = this.#options;
    const request = { limit: settings.replayMaxMessages, recent, marks };
    const settle = (snapshot: HistorySnapshot | undefined, error: unknown): void => {
      try {
        if (snapshot === undefined) this.#fail(userId, pending, targets, error);
        else this.#apply(userId, pending, targets, snapshot);
      } catch (bug) {
        // A bug, not a Redis problem: keep serving, and let the user be read again later.
        this.#pending.delete(userId);
        logger.error({ userId, err: String(bug) }, 'history sync failed unexpectedly');
      }
      this.#reading--;
      this.#pump();
    };
    let read: Promise<HistorySnapshot>;
    try {
      read = source.read(userId, request);
    } catch (error) {
      // Even a read that throws at once settles its slot (in a later turn, like an answer).
      read = Promise.reject(error);
    }
    read.then(
      (snapshot) => settle(snapshot, undefined),
      (error: unknown) => settle(undefined, error),
    );
  }

  #apply(
    userId: string,
    pending: PendingRead,
    targets: readonly ClientSocket[],
    snapshot: HistorySnapshot,
  ): void {
    if (this.#closed || this.#pending.get(userId) !== pending) return;
    pending.failures = 0;
    const sendable = this.#sendable(userId, snapshot);
    let unasked = false;
    for (const socket of targets) {
      if (socket.readyState !== OPEN) continue;
      if (needsEntriesNotAsked(socket, snapshot)) {
        // A first connect that had a message held back while this read was in flight, and the
        // read was sent before: it waits for the next read, which asks from that message on.
        unasked = true;
        continue;
      }
      this.#sync(socket, snapshot, sendable);
    }
    const overtaken =
      pending.held &&
      (pending.heldEpoch !== (snapshot.epoch ?? '') || pending.heldPosition > snapshot.top);
    this.#settle(userId, pending, pending.again || overtaken || unasked);
  }

  #fail(
    userId: string,
    pending: PendingRead,
    targets: readonly ClientSocket[],
    error: unknown,
  ): void {
    if (this.#closed || this.#pending.get(userId) !== pending) return;
    const { metrics, dropLog } = this.#options;
    const kind = (error as { kind?: unknown }).kind === 'timeout' ? 'timeout' : 'error';
    metrics.historyReadFailed(kind);
    pending.failures++;
    if (pending.failures < READ_ATTEMPTS) {
      // Read again (at the back of the queue); the sockets keep waiting, live messages held,
      // and a handshake's response waits no longer.
      for (const socket of targets) release(socket.transport);
      this.#settle(userId, pending, true);
      return;
    }
    dropLog.warn(
      'history_read_failed',
      { userId, reason: kind, err: error instanceof Error ? error.message : String(error) },
      'history read failed: sockets told history_unavailable',
    );
    for (const socket of targets) {
      if (socket.readyState !== OPEN) continue;
      const wasSyncing = socket.syncState === syncStates.SYNCING;
      if (!markAdopt(socket)) continue;
      this.#resync(
        socket,
        'history_unavailable',
        socket.position,
        socket.epoch || null,
        wasSyncing,
      );
      release(socket.transport);
    }
    this.#settle(userId, pending, pending.again);
  }

  /** The read settled: read again (queued at the back) or let the user go live. */
  #settle(userId: string, pending: PendingRead, again: boolean): void {
    if (again && this.#options.registry.socketsOf(userId) !== undefined) {
      pending.reading = false;
      this.#queue.push(userId);
    } else {
      this.#pending.delete(userId);
    }
  }

  /**
   * Which entries may be sent: checked once per read like a live payload (a publisher that wrote
   * the stream by hand could have stored anything); the others are dropped, counted and logged.
   */
  #sendable(userId: string, snapshot: HistorySnapshot): boolean[] {
    const { metrics, dropLog } = this.#options;
    return snapshot.entries.map((entry) => {
      const parsed = parsePayload(entry.message);
      if (parsed.ok && isReservedEvent(parsed.envelope.event)) {
        dropReservedEvent(metrics, dropLog, userId, parsed.envelope.event);
        return false;
      }
      if (parsed.ok) return true;
      metrics.malformedPayloads++;
      dropLog.warn(
        'malformed_payload',
        { userId, position: entry.position, reason: parsed.reason, bytes: entry.message.length },
        'dropped malformed history entry',
      );
      return false;
    });
  }

  /**
   * Sends one socket what `snapshot` holds for it, then a control message if due; it is live.
   * Everything is written in one system call (with a held 101 response before it).
   */
  #sync(socket: ClientSocket, snapshot: HistorySnapshot, sendable: readonly boolean[]): void {
    const { transport } = socket;
    transport?.cork();
    this.#syncFrames(socket, snapshot, sendable);
    transport?.uncork();
    release(transport);
  }

  #syncFrames(socket: ClientSocket, snapshot: HistorySnapshot, sendable: readonly boolean[]): void {
    const { settings, metrics } = this.#options;
    const wasSyncing = socket.syncState === syncStates.SYNCING;
    const outcome = syncOutcome(socket, snapshot, settings.replayMaxMessages);
    const { top, epoch } = snapshot;
    markSynced(socket, top, epoch);
    if (outcome.kind === 'resync') {
      this.#resync(socket, outcome.reason, top, epoch, wasSyncing);
      return;
    }
    let replayed = 0;
    let open = true;
    const { entries } = snapshot;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.position <= outcome.after || !sendable[i]) continue;
      open = this.#write(socket, entry.message);
      if (!open) break;
      replayed++;
    }
    metrics.replayedMessages += replayed;
    if (wasSyncing && open) this.#synced(socket, replayed);
  }

  /** Tells a socket that was syncing where it stands now (`ws.synced`), after `replayed` entries. */
  #synced(socket: ClientSocket, replayed: number): void {
    if (socket.resumed) this.#options.metrics.resumed('recovered', 'none');
    const data = { position: socket.position, epoch: socket.epoch || null, replayed };
    this.#write(socket, controlFrame(controlEvents.SYNCED, data));
  }

  #resync(
    socket: ClientSocket,
    reason: ResyncReason,
    position: number,
    epoch: string | null,
    wasSyncing: boolean,
  ): void {
    const { metrics } = this.#options;
    metrics.resyncSent(reason);
    if (wasSyncing && socket.resumed) metrics.resumed('resync', reason);
    this.#write(socket, controlFrame(controlEvents.RESYNC, { reason, position, epoch }));
  }

  /**
   * Writes `payload` as one text frame within the outbound-buffer limit, as the live path does
   * (`writeFrameWithinLimit`); false when the socket is gone.
   */
  #write(socket: ClientSocket, payload: Buffer): boolean {
    if (socket.readyState !== OPEN) return false;
    const { maxBufferedBytes, metrics, dropLog } = this.#options;
    return writeFrameWithinLimit(socket, textFrame(payload), maxBufferedBytes, metrics, dropLog);
  }
}

/** Whether a socket is open: a closing one still in the registry no longer gets live messages. */
function isOpen(socket: ClientSocket): boolean {
  return socket.readyState === OPEN;
}

/** A control message (`ws.synced`, `ws.resync`) as the text frame it is sent as. */
function controlFrame(event: string, data: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ event, data }));
}
