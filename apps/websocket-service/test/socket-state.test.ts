import { describe, expect, it } from 'vitest';
import { beginSync, joinLive, type SyncedSocket, syncStates } from '../src/history/socket-state.js';

// joinLive: when a socket may stand where the user's live sockets stand without a read.

function socket(overrides: Partial<SyncedSocket> = {}): SyncedSocket {
  return {
    syncState: syncStates.LIVE,
    position: 0,
    epoch: '',
    resumed: false,
    recent: 0,
    syncFrom: 0,
    syncFromEpoch: '',
    syncFromAsked: false,
    ...overrides,
  };
}

function joining(request: Parameters<typeof beginSync>[1]): SyncedSocket {
  const created = socket();
  beginSync(created, request);
  return created;
}

const live = (position: number, epoch = 'e1') => socket({ position, epoch });
const open = () => true;

describe('joinLive', () => {
  it("puts a first connect without recent at the live sockets' position, live", () => {
    const tab = joining({ kind: 'first', recent: 0 });
    expect(joinLive(tab, [live(7), tab, live(7)], open)).toBe(true);
    expect(tab).toMatchObject({ syncState: syncStates.LIVE, position: 7, epoch: 'e1' });
  });

  it('reads for every resume, even from exactly their position and epoch', () => {
    // Only the read can tell that the history is gone since (ws.resync, history_lost).
    for (const request of [
      { kind: 'resume', position: 7, epoch: 'e1' },
      { kind: 'resume', position: 6, epoch: 'e1' },
      { kind: 'resume', position: 7, epoch: 'e2' },
      { kind: 'resume', position: 0, epoch: '' },
    ] as const) {
      const tab = joining(request);
      expect(joinLive(tab, [live(7), tab], open)).toBe(false);
      expect(tab.syncState).toBe(syncStates.SYNCING);
    }
  });

  it('reads instead when recent is asked, no socket is live, or the live ones disagree', () => {
    const cases: Array<[SyncedSocket, SyncedSocket[]]> = [];
    const recent = joining({ kind: 'first', recent: 3 });
    cases.push([recent, [live(7), recent]]);
    const alone = joining({ kind: 'first', recent: 0 });
    cases.push([alone, [alone]]);
    const besideSyncing = joining({ kind: 'first', recent: 0 });
    cases.push([besideSyncing, [live(7), socket({ syncState: syncStates.SYNCING })]]);
    const besideAdopt = joining({ kind: 'first', recent: 0 });
    cases.push([besideAdopt, [socket({ syncState: syncStates.ADOPT, position: 7 })]]);
    const apart = joining({ kind: 'first', recent: 0 });
    cases.push([apart, [live(7), live(8)]]);
    const epochs = joining({ kind: 'first', recent: 0 });
    cases.push([epochs, [live(7, 'e1'), live(7, 'e2')]]);
    for (const [tab, sockets] of cases) {
      expect(joinLive(tab, sockets, open)).toBe(false);
      expect(tab.syncState).toBe(syncStates.SYNCING);
    }
  });

  it('leaves closing sockets out: the live path skips them, so they can be behind', () => {
    const closing = live(1);
    const isOpen = (other: SyncedSocket) => other !== closing;
    // The only other socket is closing, at position 1 while the user is at 2: read instead.
    const resume = joining({ kind: 'resume', position: 1, epoch: 'e1' });
    expect(joinLive(resume, [closing, resume], isOpen)).toBe(false);
    expect(resume.syncState).toBe(syncStates.SYNCING);
    // Beside an open live socket, the closing one does not count.
    const first = joining({ kind: 'first', recent: 0 });
    expect(joinLive(first, [closing, live(2), first], isOpen)).toBe(true);
    expect(first).toMatchObject({ position: 2, epoch: 'e1' });
  });

  it('keeps an empty history empty: position 0 without an epoch', () => {
    const tab = joining({ kind: 'first', recent: 0 });
    expect(joinLive(tab, [socket({ position: 0, epoch: '' })], open)).toBe(true);
    expect(tab).toMatchObject({ syncState: syncStates.LIVE, position: 0, epoch: '' });
  });

  it('leaves a socket that is not syncing alone', () => {
    const tab = live(3);
    expect(joinLive(tab, [live(7)], open)).toBe(false);
    expect(tab.position).toBe(3);
  });
});
