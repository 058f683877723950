import type { Envelope } from '@huleedu/ws-protocol';
import { describe, expect, it } from 'vitest';
import { createHistoryCursor, positionOf } from '../src/position.js';

const envelope = (fields: Record<string, unknown>): Envelope => ({
  event: 'class_created',
  data: {},
  ...fields,
});

describe('positionOf', () => {
  it('reads the position and epoch the publish script puts in front of the envelope', () => {
    expect(positionOf(envelope({ position: 17, epoch: 'k3j-x_9' }))).toEqual({
      position: 17,
      epoch: 'k3j-x_9',
    });
  });

  it.each([
    ['no fields (a raw PUBLISH)', {}],
    ['a position without an epoch', { position: 3 }],
    ['an epoch without a position', { epoch: 'e1' }],
    ['position 0', { position: 0, epoch: 'e1' }],
    ['a fractional position', { position: 1.5, epoch: 'e1' }],
    ['a position as text', { position: '3', epoch: 'e1' }],
    ['an epoch that could break JSON', { position: 3, epoch: 'e"1' }],
    ['a null epoch', { position: 3, epoch: null }],
  ])('counts %s as no position', (_, fields) => {
    expect(positionOf(envelope(fields))).toBeUndefined();
  });
});

describe('the history cursor', () => {
  const query = (cursor: ReturnType<typeof createHistoryCursor>, url = 'ws://h/ws?token=t') => {
    const params = new URL(url).searchParams;
    const replays = cursor.writeQuery(params);
    return { replays, query: params.toString() };
  };

  it('starts nowhere: asks for nothing, or for `recent` when configured', () => {
    expect(query(createHistoryCursor(undefined, 0))).toEqual({ replays: false, query: 'token=t' });
    expect(query(createHistoryCursor(undefined, 20))).toEqual({
      replays: true,
      query: 'token=t&recent=20',
    });
  });

  it('resumes from where it is, never with `recent` once it knows a position', () => {
    const cursor = createHistoryCursor(undefined, 20);
    cursor.moveTo({ position: 7, epoch: 'e1' });
    expect(query(cursor)).toEqual({ replays: true, query: 'token=t&position=7&epoch=e1' });
  });

  it('replaces the parameters of the previous connect', () => {
    const cursor = createHistoryCursor({ position: 2, epoch: 'old' }, 0);
    cursor.moveTo({ position: 9, epoch: 'new' });
    expect(query(cursor, 'ws://h/ws?token=t&position=2&epoch=old&recent=5').query).toBe(
      'token=t&position=9&epoch=new',
    );
  });

  it('after an empty history (epoch null) resumes from position 0 of whatever epoch comes', () => {
    const cursor = createHistoryCursor(undefined, 20);
    cursor.moveTo({ position: 0, epoch: null });
    expect(query(cursor)).toEqual({ replays: true, query: 'token=t&position=0' });
  });

  it('has seen a position at or below its own in the same epoch, nothing of another epoch', () => {
    const cursor = createHistoryCursor({ position: 5, epoch: 'e1' }, 0);
    expect(cursor.seen({ position: 4, epoch: 'e1' })).toBe(true);
    expect(cursor.seen({ position: 5, epoch: 'e1' })).toBe(true);
    expect(cursor.seen({ position: 6, epoch: 'e1' })).toBe(false);
    expect(cursor.seen({ position: 1, epoch: 'e2' })).toBe(false);
    expect(createHistoryCursor(undefined, 0).seen({ position: 1, epoch: 'e1' })).toBe(false);
  });
});
