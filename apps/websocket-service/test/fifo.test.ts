import { describe, expect, it } from 'vitest';
import { Fifo } from '../src/history/fifo.js';

describe('Fifo', () => {
  it('gives items back oldest first, and says how many wait', () => {
    const fifo = new Fifo<number>();
    expect(fifo.shift()).toBeUndefined();
    expect(fifo.peek()).toBeUndefined();
    for (const n of [1, 2, 3]) fifo.push(n);
    expect(fifo.size).toBe(3);
    expect(fifo.peek()).toBe(1);
    expect(fifo.shift()).toBe(1);
    fifo.push(4);
    expect([fifo.shift(), fifo.shift(), fifo.shift(), fifo.shift()]).toEqual([2, 3, 4, undefined]);
    expect(fifo.size).toBe(0);
  });

  it('keeps order across thousands of items taken while others arrive', () => {
    const fifo = new Fifo<number>();
    const taken: number[] = [];
    for (let n = 0; n < 5000; n++) {
      fifo.push(n);
      if (n % 3 === 0) taken.push(fifo.shift()!);
    }
    expect(fifo.size).toBe(5000 - taken.length);
    expect(taken).toEqual(Array.from({ length: taken.length }, (_, i) => i));
    expect(fifo.drain()).toEqual(
      Array.from({ length: 5000 - taken.length }, (_, i) => i + taken.length),
    );
    expect(fifo.size).toBe(0);
    expect(fifo.peek()).toBeUndefined();
  });
});
