import type { HistorySnapshot } from './reader.js';
import type { ResumeRequest } from './resume-request.js';

/**
 * Where a socket stands with the history (when the service keeps one):
 * - `SYNCING`: admitted, its `ws.synced`/`ws.resync` not sent yet; positioned live messages are
 *   not sent to it (the history read that syncs it covers them);
 * - `LIVE`: synced; it gets the positioned message after {@link SyncedSocket.position} next;
 * - `ADOPT`: its history could not be read (`history_unavailable` sent): it takes the next
 *   positioned live message, whatever its position, and is live again from there.
 */
export const syncStates = { SYNCING: 0, LIVE: 1, ADOPT: 2 } as const;
/** One of {@link syncStates}. */
export type SyncState = (typeof syncStates)[keyof typeof syncStates];

/**
 * The history state of one socket (kept on `ClientSocket` itself: no side map). Only the
 * functions of this module change it.
 */
export interface SyncedSocket {
  /** See {@link syncStates}. Sockets of a service without history stay `LIVE`. */
  syncState: SyncState;
  /**
   * The position of the last positioned message this socket has (sent to it, or, while syncing
   * a resume, the one the client said it had).
   */
  position: number;
  /** The epoch of {@link position}; `''` when none is known (then the position is 0). */
  epoch: string;
  /** While syncing: true for a resume, false for a first connect. */
  resumed: boolean;
  /** While syncing a first connect: how many recent messages to replay. */
  recent: number;
  /**
   * While syncing a first connect: the position of the first positioned live message held back
   * from it (0: none yet). It was published after the socket was admitted, so the socket gets it
   * (and what followed) from the history although a first connect replays only `recent`
   * otherwise.
   */
  syncFrom: number;
  /** The epoch of {@link syncFrom}. */
  syncFromEpoch: string;
  /** Whether the read in flight asked for the entries from {@link syncFrom}. */
  syncFromAsked: boolean;
}

/** What {@link acceptLive} decides for one socket and one positioned live message. */
export const liveVerdicts = {
  /** The next position for the socket (which now stands at it): send the message. */
  SEND: 0,
  /** The socket already has this position: drop it. */
  DUPLICATE: 1,
  /** The socket missed positions, or stands in another epoch: read the history to fill it. */
  GAP: 2,
  /** The socket is syncing: the history read covers the message. */
  HOLD: 3,
} as const;
/** One of {@link liveVerdicts}. */
export type LiveVerdict = (typeof liveVerdicts)[keyof typeof liveVerdicts];

const { SYNCING, LIVE, ADOPT } = syncStates;
const { SEND, DUPLICATE, GAP, HOLD } = liveVerdicts;

/**
 * Decides whether the positioned live message `position` of `epoch` goes to `socket`, and on
 * `SEND` moves the socket to it. A live socket takes only the position right after its own (a
 * socket without an epoch, at position 0 because its history was empty, takes any epoch's 1); an
 * `ADOPT` socket takes whatever comes and is live from there; a syncing one notes the message
 * (see {@link noteHeldBack}). A few integer and string comparisons, no allocation.
 */
export function acceptLive(socket: SyncedSocket, position: number, epoch: string): LiveVerdict {
  const state = socket.syncState;
  if (state === LIVE) {
    const known = socket.epoch;
    if (known !== epoch && known !== '') return GAP;
    const next = socket.position + 1;
    if (position < next) return DUPLICATE;
    if (position > next) return GAP;
  } else if (state === SYNCING) {
    noteHeldBack(socket, position, epoch);
    return HOLD;
  }
  socket.position = position;
  // Each message's epoch is a new string from its parse: storing the equal one again would tie
  // every live socket to a young string, which each scavenge then copies and promotes.
  if (socket.epoch !== epoch) socket.epoch = epoch;
  socket.syncState = LIVE;
  return SEND;
}

/**
 * A positioned live message is being held back from `socket` while it syncs. A first connect
 * notes the first one: it was published after the socket was admitted, so it must reach the
 * socket from the history (see {@link SyncedSocket.syncFrom}).
 */
export function noteHeldBack(socket: SyncedSocket, position: number, epoch: string): void {
  if (socket.syncState !== SYNCING || socket.resumed || socket.syncFrom !== 0) return;
  socket.syncFrom = position;
  socket.syncFromEpoch = epoch;
}

/** An admitted socket starts syncing: from the position a resume names, or as a first connect. */
export function beginSync(socket: SyncedSocket, request: ResumeRequest): void {
  socket.syncState = SYNCING;
  if (request.kind === 'resume') {
    socket.resumed = true;
    socket.position = request.position;
    socket.epoch = request.epoch;
  } else {
    socket.resumed = false;
    socket.recent = request.recent;
  }
}

/**
 * Adds what a history read must cover for `socket` to `marks` (a position and its epoch) and
 * returns the `recent` count it asks for (0 unless it is a syncing first connect). An `ADOPT`
 * socket asks for nothing: it only takes up the stream.
 */
export function addReadMark(socket: SyncedSocket, marks: (number | string)[]): number {
  if (socket.syncState === ADOPT) return 0;
  if (socket.syncState === SYNCING && !socket.resumed) {
    if (socket.syncFrom > 0) {
      marks.push(socket.syncFrom - 1, socket.syncFromEpoch);
      socket.syncFromAsked = true;
    }
    return socket.recent;
  }
  marks.push(socket.position, socket.epoch);
  return 0;
}

/**
 * Whether the first live message held back from a syncing first connect (`syncFrom`) is at or
 * below the top of `snapshot`, in its epoch: then the socket is owed the entries from it on.
 */
export function heldBackWithin(
  socket: Pick<SyncedSocket, 'syncFrom' | 'syncFromEpoch'>,
  snapshot: HistorySnapshot,
): boolean {
  return (
    socket.syncFrom > 0 &&
    socket.syncFromEpoch === snapshot.epoch &&
    socket.syncFrom <= snapshot.top
  );
}

/**
 * Whether `socket`, a first connect, is owed entries from its held-back message that the read
 * in flight did not ask for (it was sent before the message arrived): it waits for the next read.
 */
export function needsEntriesNotAsked(socket: SyncedSocket, snapshot: HistorySnapshot): boolean {
  return (
    socket.syncState === SYNCING &&
    !socket.resumed &&
    !socket.syncFromAsked &&
    heldBackWithin(socket, snapshot)
  );
}

/**
 * Syncs `socket` without a read when the user's other open sockets here (`sockets`, which may
 * include it; `isOpen` tells which are open) are all live at one position and epoch: the service
 * has sent them every positioned message up to there, and every later one reaches this socket as
 * well, so it can stand where they stand. A socket that is closing is left out: the live path
 * skips it, so its position can be behind. Only for a first connect that asks for no `recent`
 * entries; false (nothing changed) otherwise, and the caller reads the history. A resume is always
 * read, even from exactly their position: only the read can tell that the history is gone (Redis
 * lost it) and the client must be told (`ws.resync`, `history_lost`), and a resuming tab's own
 * previous socket, whose close may not have arrived yet, would otherwise vouch for it.
 */
export function joinLive<S extends SyncedSocket>(
  socket: S,
  sockets: readonly S[],
  isOpen: (other: S) => boolean,
): boolean {
  if (socket.syncState !== SYNCING || socket.resumed || socket.recent > 0) return false;
  let live: SyncedSocket | undefined;
  for (const other of sockets) {
    if (other === socket || !isOpen(other)) continue;
    if (other.syncState !== LIVE) return false;
    if (live === undefined) live = other;
    else if (other.position !== live.position || other.epoch !== live.epoch) return false;
  }
  if (live === undefined) return false;
  markSynced(socket, live.position, live.epoch);
  return true;
}

/** A read synced `socket`: it stands at the history's `top` of `epoch` and is live. */
export function markSynced(socket: SyncedSocket, top: number, epoch: string | null): void {
  socket.position = top;
  socket.epoch = epoch ?? '';
  socket.syncState = LIVE;
  socket.syncFrom = 0;
  socket.syncFromAsked = false;
}

/**
 * The socket's history could not be read: it takes the next live message, whatever its
 * position (the client was told to refetch). False when it already was in that state.
 */
export function markAdopt(socket: SyncedSocket): boolean {
  if (socket.syncState === ADOPT) return false;
  socket.syncState = ADOPT;
  return true;
}
