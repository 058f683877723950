import { describe, expect, it } from 'vitest';
import { type SocketMark, syncOutcome } from '../src/history/outcome.js';
import type { HistorySnapshot } from '../src/history/reader.js';
import { syncStates } from '../src/history/socket-state.js';

const REPLAY_MAX = 10;

/** A snapshot holding entries `from..top` of `epoch`. */
function snapshot(epoch: string | null, top: number, from = 1): HistorySnapshot {
  const entries = [];
  for (let position = from; position <= top; position++) {
    entries.push({ position, message: Buffer.from(`{"position":${position}}`) });
  }
  return { epoch, top, entries };
}

const resume = (position: number, epoch: string): SocketMark => ({
  syncState: syncStates.SYNCING,
  resumed: true,
  recent: 0,
  position,
  epoch,
  syncFrom: 0,
  syncFromEpoch: '',
});
const live = (position: number, epoch: string): SocketMark => ({
  ...resume(position, epoch),
  syncState: syncStates.LIVE,
});
const first = (recent: number): SocketMark => ({
  syncState: syncStates.SYNCING,
  resumed: false,
  recent,
  position: 0,
  epoch: '',
  syncFrom: 0,
  syncFromEpoch: '',
});

describe('syncOutcome', () => {
  it('gives a first connect what was published after it was admitted, with its recent ones', () => {
    // Position 6 was held back from it while its read was in flight; the read saw up to 8.
    const heldFrom6 = { ...first(0), syncFrom: 6, syncFromEpoch: 'E' };
    expect(syncOutcome(heldFrom6, snapshot('E', 8), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 5,
    });
    // `recent` reaches further back than the held message: the recent ones, which include it.
    expect(syncOutcome({ ...heldFrom6, recent: 5 }, snapshot('E', 8), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 3,
    });
    // The held message is newer than the read (the next read brings it) or of another history:
    // a plain first connect.
    expect(syncOutcome({ ...heldFrom6, syncFrom: 9 }, snapshot('E', 8), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 8,
    });
    expect(syncOutcome(heldFrom6, snapshot('F', 8), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 8,
    });
    // Held entries no longer stored, or more than the replay limit: said, not silently skipped.
    expect(syncOutcome(heldFrom6, snapshot('E', 8, 7), REPLAY_MAX)).toEqual({
      kind: 'resync',
      reason: 'history_trimmed',
    });
    expect(syncOutcome(heldFrom6, snapshot('E', 16), REPLAY_MAX)).toEqual({
      kind: 'resync',
      reason: 'replay_limit',
    });
  });

  it('replays what a resume missed when the history covers it', () => {
    expect(syncOutcome(resume(3, 'E'), snapshot('E', 8), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 3,
    });
    expect(syncOutcome(live(8, 'E'), snapshot('E', 8), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 8,
    });
  });

  it('replays exactly the replay limit, and resyncs one beyond it', () => {
    expect(syncOutcome(resume(5, 'E'), snapshot('E', 15), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 5,
    });
    expect(syncOutcome(resume(4, 'E'), snapshot('E', 15), REPLAY_MAX)).toEqual({
      kind: 'resync',
      reason: 'replay_limit',
    });
  });

  it('says history_trimmed when the first missed entry is gone, or the entries have a hole', () => {
    expect(syncOutcome(resume(3, 'E'), snapshot('E', 8, 5), REPLAY_MAX)).toEqual({
      kind: 'resync',
      reason: 'history_trimmed',
    });
    expect(syncOutcome(resume(3, 'E'), { epoch: 'E', top: 8, entries: [] }, REPLAY_MAX)).toEqual({
      kind: 'resync',
      reason: 'history_trimmed',
    });
    const holed = snapshot('E', 8, 4);
    const withHole = { ...holed, entries: holed.entries.filter((e) => e.position !== 6) };
    expect(syncOutcome(resume(3, 'E'), withHole, REPLAY_MAX).kind).toBe('resync');
  });

  it('says history_lost for another epoch, a client ahead, or a history gone while the client had one', () => {
    const lost = { kind: 'resync', reason: 'history_lost' };
    expect(syncOutcome(resume(3, 'OLD'), snapshot('E', 8), REPLAY_MAX)).toEqual(lost);
    expect(syncOutcome(resume(9, 'E'), snapshot('E', 8), REPLAY_MAX)).toEqual(lost);
    expect(syncOutcome(resume(3, 'E'), snapshot(null, 0), REPLAY_MAX)).toEqual(lost);
    expect(syncOutcome(live(3, 'E'), snapshot(null, 0), REPLAY_MAX)).toEqual(lost);
  });

  it('takes a socket without an epoch (position 0) into any epoch from 1, if still stored', () => {
    expect(syncOutcome(resume(0, ''), snapshot('E', 4), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 0,
    });
    expect(syncOutcome(resume(0, ''), snapshot(null, 0), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 0,
    });
    expect(syncOutcome(resume(0, ''), snapshot('E', 6, 2), REPLAY_MAX).kind).toBe('resync');
    expect(syncOutcome(resume(0, ''), snapshot('E', 11), REPLAY_MAX)).toEqual({
      kind: 'resync',
      reason: 'replay_limit',
    });
  });

  it('gives a first connect the last `recent` entries, or nothing', () => {
    expect(syncOutcome(first(3), snapshot('E', 8), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 5,
    });
    expect(syncOutcome(first(0), snapshot('E', 8), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 8,
    });
    expect(syncOutcome(first(20), snapshot('E', 8), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 0,
    });
    expect(syncOutcome(first(5), snapshot(null, 0), REPLAY_MAX)).toEqual({
      kind: 'replay',
      after: 0,
    });
  });

  it('lets a socket whose read failed before (ADOPT) stand at the top without a replay', () => {
    const adopt = { ...live(2, 'OLD'), syncState: syncStates.ADOPT };
    expect(syncOutcome(adopt, snapshot('E', 8), REPLAY_MAX)).toEqual({ kind: 'replay', after: 8 });
  });
});
