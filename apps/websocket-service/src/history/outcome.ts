import type { ResyncReason } from '@huleedu/ws-protocol';
import type { HistoryEntry, HistorySnapshot } from './reader.js';
import { heldBackWithin, type SyncState, syncStates } from './socket-state.js';

/** Where a socket stands, as far as deciding its sync goes (a subset of `ClientSocket`). */
export interface SocketMark {
  readonly syncState: SyncState;
  readonly resumed: boolean;
  readonly recent: number;
  readonly position: number;
  readonly epoch: string;
  /** A first connect: the first live position held back from it while it synced (0: none). */
  readonly syncFrom: number;
  readonly syncFromEpoch: string;
}

/**
 * What a socket gets from a history read:
 * - `replay`: the entries after `after` (none when `after` is the top), then it stands at the top;
 * - `resync`: the gap cannot be covered, for `reason`; it is told so and stands at the top.
 */
export type SyncOutcome =
  | { readonly kind: 'replay'; readonly after: number }
  | { readonly kind: 'resync'; readonly reason: ResyncReason };

/**
 * Decides what one socket gets from `snapshot` (read after its channel was subscribed):
 * - a first connect: the last `recent` entries still stored, and every entry from the first live
 *   message held back from it while it synced (published after it was admitted), when that is
 *   in this history (a resync when those can no longer be covered);
 * - a socket that could not be read for before (`ADOPT`): nothing, it just stands at the top;
 * - a resume, or a live socket catching up: the entries after its position, when the history
 *   covers them: same epoch (a socket without one, at position 0, takes any epoch: its history
 *   was empty), not ahead of the top, at most `replayMax` behind, and the first missing entry
 *   still stored. Otherwise a resync: `history_lost` (other epoch, no history any more while the
 *   socket had one, or the socket ahead of the top), `replay_limit`, `history_trimmed`.
 */
export function syncOutcome(
  socket: SocketMark,
  snapshot: HistorySnapshot,
  replayMax: number,
): SyncOutcome {
  const { epoch, top } = snapshot;
  if (socket.syncState === syncStates.ADOPT) return { kind: 'replay', after: top };
  if (socket.syncState === syncStates.SYNCING && !socket.resumed) {
    const recentAfter = Math.max(0, top - socket.recent);
    if (!heldBackWithin(socket, snapshot)) return { kind: 'replay', after: recentAfter };
    const from = socket.syncFrom;
    if (top - from + 1 > replayMax) return { kind: 'resync', reason: 'replay_limit' };
    if (!covers(snapshot.entries, from, top)) return { kind: 'resync', reason: 'history_trimmed' };
    return { kind: 'replay', after: Math.min(from - 1, recentAfter) };
  }
  if (epoch === null) {
    return socket.epoch === ''
      ? { kind: 'replay', after: 0 }
      : { kind: 'resync', reason: 'history_lost' };
  }
  if (socket.epoch !== '' && socket.epoch !== epoch)
    return { kind: 'resync', reason: 'history_lost' };
  const position = socket.position;
  if (position > top) return { kind: 'resync', reason: 'history_lost' };
  if (top - position > replayMax) return { kind: 'resync', reason: 'replay_limit' };
  if (position === top) return { kind: 'replay', after: top };
  if (!covers(snapshot.entries, position + 1, top)) {
    return { kind: 'resync', reason: 'history_trimmed' };
  }
  return { kind: 'replay', after: position };
}

/** Whether `entries` (ascending) hold every position from `first` to `last`, without a hole. */
function covers(entries: readonly HistoryEntry[], first: number, last: number): boolean {
  const head = entries[0];
  const tail = entries[entries.length - 1];
  if (head === undefined || tail === undefined) return false;
  const contiguous = entries.length === tail.position - head.position + 1;
  return contiguous && head.position <= first && tail.position >= last;
}
