/**
 * Visits up to `max` sockets after the last one it visited, and starts over once it has been
 * through all of them; returns how many it visited (a user's sockets are visited together, so
 * it may be a few more than `max`). `visit` must not add or remove sockets.
 */
export type SocketCursor<Socket> = (max: number, visit: (socket: Socket) => void) => number;

/**
 * Which sockets each user has open on this instance. Knows nothing about WebSockets or Redis, so
 * it can be tested on its own; the caller decides what "first" and "last" mean for subscriptions.
 *
 * Per-user lists are plain arrays: a user has a handful of sockets (the per-user limit), and a
 * short array is smaller than a Set and as fast to scan. A list grows by copying, not `push`:
 * V8 grows a pushed array to 17 or more slots, far more than a user's two or three sockets need.
 */
export class ConnectionRegistry<Socket> {
  readonly #byUser = new Map<string, Socket[]>();
  #size = 0;

  /** @param maxPerUser how many sockets one user may hold at once (at least 1). */
  constructor(readonly maxPerUser: number) {
    if (!Number.isInteger(maxPerUser) || maxPerUser < 1) {
      throw new RangeError(`maxPerUser must be a whole number >= 1, got ${maxPerUser}`);
    }
  }

  /** Number of open sockets across all users. */
  get size(): number {
    return this.#size;
  }

  /** Number of users with at least one open socket. */
  get userCount(): number {
    return this.#byUser.size;
  }

  /**
   * Records a new socket. Returns `'first'` when it is the user's first socket (subscribe the
   * user's channel), `'added'` for further ones, and `'limit'` (nothing recorded) when the user
   * is already at the limit.
   */
  add(userId: string, socket: Socket): 'first' | 'added' | 'limit' {
    const sockets = this.#byUser.get(userId);
    if (sockets === undefined) {
      this.#byUser.set(userId, [socket]);
      this.#size++;
      return 'first';
    }
    if (sockets.length >= this.maxPerUser) return 'limit';
    this.#byUser.set(userId, sockets.concat([socket]));
    this.#size++;
    return 'added';
  }

  /**
   * Forgets a socket. Returns `'last'` when the user has no socket left (unsubscribe the
   * channel), `'removed'` otherwise, and `'unknown'` when the socket was not recorded (already
   * removed, or never admitted), so calling it twice is harmless.
   */
  remove(userId: string, socket: Socket): 'last' | 'removed' | 'unknown' {
    const sockets = this.#byUser.get(userId);
    if (sockets === undefined) return 'unknown';
    const index = sockets.indexOf(socket);
    if (index === -1) return 'unknown';
    this.#size--;
    if (sockets.length === 1) {
      this.#byUser.delete(userId);
      return 'last';
    }
    sockets.splice(index, 1);
    return 'removed';
  }

  /**
   * The user's open sockets (the live list: do not mutate, copy before removing while iterating;
   * an added socket replaces the list).
   */
  socketsOf(userId: string): readonly Socket[] | undefined {
    return this.#byUser.get(userId);
  }

  /** A snapshot of every socket, safe to iterate while sockets are being removed. */
  allSockets(): Socket[] {
    const all: Socket[] = [];
    for (const sockets of this.#byUser.values()) all.push(...sockets);
    return all;
  }

  /**
   * A cursor that walks every socket a slice at a time, resuming where it stopped (the keepalive
   * sweep). Users added meanwhile are visited in this pass or the next; users removed are skipped.
   * Returns how many sockets it visited: fewer than asked when it reached the end (and starts
   * over on the next call).
   */
  cursor(): SocketCursor<Socket> {
    let users = this.#byUser.values();
    return (max, visit) => {
      let visited = 0;
      while (visited < max) {
        const next = users.next();
        if (next.done === true) {
          users = this.#byUser.values();
          break;
        }
        for (const socket of next.value) visit(socket);
        visited += next.value.length;
      }
      return visited;
    };
  }

  /** Calls `visit` for every socket; `visit` must not add or remove sockets. */
  forEachSocket(visit: (socket: Socket) => void): void {
    for (const sockets of this.#byUser.values()) {
      for (const socket of sockets) visit(socket);
    }
  }
}
