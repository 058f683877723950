import {
  controlEvents,
  positionFields,
  type ResyncData,
  resumeParams,
  type SyncedData,
} from '@huleedu/ws-protocol';
import type { PublishedPosition } from './publisher.js';

/**
 * What a load-generator socket does with positions, like `@huleedu/ws-client` but without a
 * schema parse per frame: it reads `position` and `epoch` off the front of every positioned
 * message (the publish script puts them first), follows `ws.synced`/`ws.resync`, resumes from
 * there on every reconnect, and counts every position it skipped or saw twice.
 */

/** Where one socket stands: the last position it saw and that position's epoch. */
export interface SocketPosition {
  position: number;
  /** null until the socket has seen a history (a message, or a `ws.synced` with an epoch). */
  epoch: string | null;
}

/** What the sockets of one process saw, since the last reset. */
export interface ResumeTally {
  /** Positioned messages past their socket's position: the ones that count as delivered. */
  fresh: number;
  /** Positioned messages at or below their socket's position (seen already). */
  duplicates: number;
  /** Positions skipped without a word: a later one arrived, or `ws.synced` moved past them. */
  missed: number;
  /** Positions skipped with a `ws.resync` (signalled loss, same epoch). */
  resynced: number;
  /** `ws.resync` messages by reason. */
  resyncs: Record<string, number>;
  /** Messages or `ws.synced` of a different epoch with no `ws.resync` before them. */
  epochChanges: number;
  /** `ws.synced` messages, and the sum of their `replayed`. */
  synced: number;
  replayed: number;
}

/** An empty tally. */
export function newTally(): ResumeTally {
  return {
    fresh: 0,
    duplicates: 0,
    missed: 0,
    resynced: 0,
    resyncs: {},
    epochChanges: 0,
    synced: 0,
    replayed: 0,
  };
}

const POSITION_PREFIX = Buffer.from(`{"${positionFields.POSITION}":`);
const EPOCH_KEY = Buffer.from(`,"${positionFields.EPOCH}":"`);
const QUOTE = 0x22;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Reads `{"position":N,"epoch":"E",...` at the front of a frame, or `undefined` when the frame
 * does not start that way (an unpositioned message, a control message, a `pong`).
 */
export function readPositioned(frame: Buffer): { position: number; epoch: string } | undefined {
  if (frame.length < POSITION_PREFIX.length + 12) return undefined;
  if (POSITION_PREFIX.compare(frame, 0, POSITION_PREFIX.length) !== 0) return undefined;
  let at = POSITION_PREFIX.length;
  let position = 0;
  const digitsFrom = at;
  while (at < frame.length && frame[at]! >= ZERO && frame[at]! <= NINE && at - digitsFrom < 16) {
    position = position * 10 + (frame[at]! - ZERO);
    at++;
  }
  if (at === digitsFrom) return undefined;
  if (EPOCH_KEY.compare(frame, at, at + EPOCH_KEY.length) !== 0) return undefined;
  const epochFrom = at + EPOCH_KEY.length;
  const epochTo = frame.indexOf(QUOTE, epochFrom);
  if (epochTo <= epochFrom || epochTo - epochFrom > 64) return undefined;
  return { position, epoch: frame.toString('latin1', epochFrom, epochTo) };
}

/** A control message the service sent. */
export type ControlMessage =
  | { event: typeof controlEvents.SYNCED; data: SyncedData }
  | { event: typeof controlEvents.RESYNC; data: ResyncData };

const SYNCED = Buffer.from(`"${controlEvents.SYNCED}"`);
const RESYNC = Buffer.from(`"${controlEvents.RESYNC}"`);

/**
 * Reads a `ws.synced` or `ws.resync` message; `undefined` for any other frame. Only frames that
 * name one of the two events are parsed (one per connection, not one per notification).
 */
export function readControl(frame: Buffer): ControlMessage | undefined {
  if (frame.length > 1024 || (!frame.includes(SYNCED) && !frame.includes(RESYNC))) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.toString('utf8'));
  } catch {
    return undefined; // a notification that merely quotes the name is not a control message
  }
  const { event, data } = (parsed ?? {}) as { event?: unknown; data?: Record<string, unknown> };
  if (typeof data !== 'object' || data === null || typeof data.position !== 'number') {
    return undefined;
  }
  const epoch = typeof data.epoch === 'string' ? data.epoch : null;
  if (event === controlEvents.SYNCED) {
    const replayed = typeof data.replayed === 'number' ? data.replayed : 0;
    return { event, data: { position: data.position, epoch, replayed } };
  }
  if (event === controlEvents.RESYNC) {
    return {
      event,
      data: { reason: data.reason as ResyncData['reason'], position: data.position, epoch },
    };
  }
  return undefined;
}

/** Follows one positioned message: fresh, duplicate, or fresh after a silent gap. */
export function trackPositioned(
  socket: SocketPosition,
  position: number,
  epoch: string,
  tally: ResumeTally,
): void {
  if (socket.epoch !== null && socket.epoch !== epoch) {
    tally.epochChanges++;
    socket.epoch = epoch;
    socket.position = position;
    tally.fresh++;
    return;
  }
  socket.epoch = epoch;
  if (position <= socket.position) {
    tally.duplicates++;
    return;
  }
  tally.missed += position - socket.position - 1;
  tally.fresh++;
  socket.position = position;
}

/** Follows a control message: `ws.synced` may not skip anything; `ws.resync` skips, counted. */
export function trackControl(
  socket: SocketPosition,
  control: ControlMessage,
  tally: ResumeTally,
): void {
  const { position, epoch } = control.data;
  if (control.event === controlEvents.SYNCED) {
    tally.synced++;
    tally.replayed += control.data.replayed;
    if (epoch === null) return; // the user has no history yet
    if (socket.epoch === null) {
      socket.epoch = epoch;
      socket.position = position;
    } else if (socket.epoch !== epoch) {
      tally.epochChanges++;
      socket.epoch = epoch;
      socket.position = position;
    } else if (position > socket.position) {
      tally.missed += position - socket.position;
      socket.position = position;
    }
    return;
  }
  const reason = control.data.reason;
  tally.resyncs[reason] = (tally.resyncs[reason] ?? 0) + 1;
  if (epoch !== null && epoch === socket.epoch && position > socket.position) {
    tally.resynced += position - socket.position;
  }
  socket.epoch = epoch;
  socket.position = position;
}

/** The query string a reconnect adds after the token: `&position=N&epoch=E`, or '' with no history. */
export function resumeQuery(socket: SocketPosition): string {
  if (socket.epoch === null) return '';
  return `&${resumeParams.POSITION}=${socket.position}&${resumeParams.EPOCH}=${encodeURIComponent(socket.epoch)}`;
}

/** How far sockets are behind their users' last published positions. */
export interface PositionAudit {
  /** Sockets checked (every socket of a user that was published to). */
  sockets: number;
  /** Sockets not at their user's last position. */
  behind: number;
  /** Positions those sockets never received (same epoch): lost at the tail. */
  tail: number;
  /** Sockets on another epoch than their user's history (not comparable). */
  otherEpoch: number;
}

/** Compares each socket with the last position published to its user. */
export function auditPositions(
  sockets: ReadonlyArray<{ user: number; state: SocketPosition }>,
  published: (user: number) => PublishedPosition | undefined,
): PositionAudit {
  const audit: PositionAudit = { sockets: 0, behind: 0, tail: 0, otherEpoch: 0 };
  for (const { user, state } of sockets) {
    const top = published(user);
    if (!top) continue;
    audit.sockets++;
    if (state.epoch !== top.epoch) {
      audit.otherEpoch++;
      audit.behind++;
    } else if (state.position < top.position) {
      audit.behind++;
      audit.tail += top.position - state.position;
    }
  }
  return audit;
}
