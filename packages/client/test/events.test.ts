import { describe, expect, it } from 'vitest';
import { createEmitter } from '../src/events.js';

type Events = { note: [text: string]; count: [n: number] };

describe('createEmitter', () => {
  it('calls listeners of the emitted event in order, with the arguments', () => {
    const emitter = createEmitter<Events>(() => {});
    const seen: string[] = [];
    emitter.on('note', (text) => seen.push(`a:${text}`));
    emitter.on('note', (text) => seen.push(`b:${text}`));
    emitter.on('count', (n) => seen.push(`count:${n}`));
    emitter.emit('note', 'hi');
    expect(seen).toEqual(['a:hi', 'b:hi']);
  });

  it('stops calling a listener once unsubscribed, even twice, and keeps the others', () => {
    const emitter = createEmitter<Events>(() => {});
    const seen: string[] = [];
    const listener = (text: string) => seen.push(text);
    const offFirst = emitter.on('note', listener);
    emitter.on('note', listener);
    offFirst();
    offFirst();
    emitter.emit('note', 'x');
    expect(seen).toEqual(['x']);
  });

  it('lets a listener unsubscribe itself while the event is being emitted', () => {
    const emitter = createEmitter<Events>(() => {});
    const seen: string[] = [];
    const off = emitter.on('note', () => {
      seen.push('once');
      off();
    });
    emitter.on('note', () => seen.push('always'));
    emitter.emit('note', '1');
    emitter.emit('note', '2');
    expect(seen).toEqual(['once', 'always', 'always']);
  });

  it('reports a throwing listener and still calls the rest', () => {
    const failures: unknown[] = [];
    const emitter = createEmitter<Events>((thrown, name) => failures.push([name, thrown]));
    const seen: string[] = [];
    const boom = new Error('app bug');
    emitter.on('note', () => {
      throw boom;
    });
    emitter.on('note', (text) => seen.push(text));
    expect(() => emitter.emit('note', 'still delivered')).not.toThrow();
    expect(seen).toEqual(['still delivered']);
    expect(failures).toEqual([['note', boom]]);
  });
});
