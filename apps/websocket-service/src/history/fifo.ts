/** The consumed front is cut off once it is this long, so removal stays O(1) amortised. */
const COMPACT_AT = 1024;

/**
 * A first-in, first-out list: the history's queue of users waiting for a read slot, and the
 * reader's reads in flight. `Array.prototype.shift` copies the whole array on each call; this
 * moves an index and cuts the consumed front off now and then.
 */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  /** How many items are waiting. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Adds `item` at the back. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest item, left in place (undefined when empty). */
  peek(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  /** Takes the oldest item (undefined when empty). */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AT) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Empties it and returns what was waiting, oldest first. */
  drain(): T[] {
    const waiting = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return waiting;
  }
}
