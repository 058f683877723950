import { describe, expect, it } from 'vitest';
import { benchEnvelopeJson } from '../src/message.js';
import {
  auditPositions,
  newTally,
  readControl,
  readPositioned,
  resumeQuery,
  type SocketPosition,
  trackControl,
  trackPositioned,
} from '../src/resume-tracking.js';

const positioned = (position: number, epoch: string): Buffer =>
  Buffer.from(`{"position":${position},"epoch":"${epoch}",${benchEnvelopeJson(1, 1).slice(1)}`);

describe('reading frames without a JSON parse', () => {
  it('reads position and epoch off the front of a positioned message', () => {
    expect(readPositioned(positioned(42, 'Ab_c-9'))).toEqual({ position: 42, epoch: 'Ab_c-9' });
  });

  it('leaves unpositioned messages, control messages and pongs alone', () => {
    expect(readPositioned(Buffer.from(benchEnvelopeJson(1, 1)))).toBeUndefined();
    expect(readPositioned(Buffer.from('pong'))).toBeUndefined();
    expect(
      readPositioned(Buffer.from('{"position":"7","epoch":"e","event":"x","data":{}}')),
    ).toBeUndefined();
    const synced = '{"event":"ws.synced","data":{"position":3,"epoch":"e1","replayed":2}}';
    expect(readPositioned(Buffer.from(synced))).toBeUndefined();
  });

  it('reads ws.synced and ws.resync, and nothing else', () => {
    expect(
      readControl(
        Buffer.from('{"event":"ws.synced","data":{"position":3,"epoch":"e1","replayed":2}}'),
      ),
    ).toEqual({ event: 'ws.synced', data: { position: 3, epoch: 'e1', replayed: 2 } });
    expect(
      readControl(
        Buffer.from(
          '{"event":"ws.resync","data":{"reason":"history_trimmed","position":9,"epoch":"e1"}}',
        ),
      ),
    ).toEqual({
      event: 'ws.resync',
      data: { reason: 'history_trimmed', position: 9, epoch: 'e1' },
    });
    const quoting = '{"event":"x","data":{"message":"\\"ws.synced\\" is a word"}}';
    expect(readControl(Buffer.from(quoting))).toBeUndefined();
    expect(readControl(Buffer.from('{"event":"ws.synced"'))).toBeUndefined();
  });
});

describe('following a socket position', () => {
  it('counts fresh messages, silent gaps and duplicates', () => {
    const socket: SocketPosition = { position: 0, epoch: null };
    const tally = newTally();
    for (const position of [1, 2, 2, 5, 3, 6]) trackPositioned(socket, position, 'e1', tally);
    expect(tally).toMatchObject({ fresh: 4, duplicates: 2, missed: 2 });
    expect(socket).toEqual({ position: 6, epoch: 'e1' });
  });

  it('takes ws.synced as where it is, and counts a synced that skips positions as missed', () => {
    const socket: SocketPosition = { position: 0, epoch: null };
    const tally = newTally();
    trackControl(
      socket,
      { event: 'ws.synced', data: { position: 0, epoch: null, replayed: 0 } },
      tally,
    );
    expect(socket).toEqual({ position: 0, epoch: null });
    trackControl(
      socket,
      { event: 'ws.synced', data: { position: 4, epoch: 'e1', replayed: 0 } },
      tally,
    );
    expect(socket).toEqual({ position: 4, epoch: 'e1' }); // a first connect starts at the top
    trackControl(
      socket,
      { event: 'ws.synced', data: { position: 7, epoch: 'e1', replayed: 1 } },
      tally,
    );
    expect(tally).toMatchObject({ synced: 3, replayed: 1, missed: 3 });
  });

  it('counts positions a ws.resync skipped apart from silent ones, by reason', () => {
    const socket: SocketPosition = { position: 5, epoch: 'e1' };
    const tally = newTally();
    const resync = (reason: 'history_trimmed' | 'history_lost', position: number, epoch: string) =>
      trackControl(socket, { event: 'ws.resync', data: { reason, position, epoch } }, tally);
    resync('history_trimmed', 50, 'e1');
    resync('history_lost', 0, 'e2');
    expect(tally).toMatchObject({
      resynced: 45,
      missed: 0,
      resyncs: { history_trimmed: 1, history_lost: 1 },
    });
    expect(socket).toEqual({ position: 0, epoch: 'e2' });
    trackPositioned(socket, 1, 'e2', tally);
    expect(tally).toMatchObject({ fresh: 1, missed: 0, epochChanges: 0 });
    trackPositioned(socket, 1, 'e3', tally); // a new epoch with no resync before it
    expect(tally.epochChanges).toBe(1);
  });

  it('resumes with position and epoch once it has seen a history', () => {
    expect(resumeQuery({ position: 0, epoch: null })).toBe('');
    expect(resumeQuery({ position: 12, epoch: 'a-b_C' })).toBe('&position=12&epoch=a-b_C');
  });

  it('finds sockets behind their user last published position', () => {
    const published = new Map([
      [1, { position: 10, epoch: 'e1' }],
      [2, { position: 4, epoch: 'e2' }],
    ]);
    const audit = auditPositions(
      [
        { user: 1, state: { position: 10, epoch: 'e1' } },
        { user: 1, state: { position: 7, epoch: 'e1' } },
        { user: 2, state: { position: 4, epoch: 'old' } },
        { user: 3, state: { position: 0, epoch: null } }, // never published to: not checked
      ],
      (user) => published.get(user),
    );
    expect(audit).toEqual({ sockets: 3, behind: 2, tail: 3, otherEpoch: 1 });
  });
});
