import type { Socket } from 'node:net';

/**
 * The longest a handshake's 101 response is held back for its first sync (see
 * {@link ResponseHold}). A read answers in well under a millisecond on a healthy Redis; one that
 * waits longer (a queued storm, Redis down) lets the response go and the sync follows it.
 */
export const RESPONSE_HOLD_MAX_MS = 50;

/**
 * Holds back the 101 responses of admitted handshakes until their first sync is written, so the
 * response, any replayed messages and `ws.synced` leave in one system call instead of two or more
 * (the TCP connection is corked: Node buffers its writes until it is uncorked).
 *
 * Every held connection is let go by {@link release} once its sync (or refusal) is written, and
 * at the latest {@link RESPONSE_HOLD_MAX_MS} after it was held: one timer serves every connection
 * held while it runs, so holding costs no timer per handshake.
 */
export class ResponseHold {
  #held: Socket[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #releaseAll = (): void => {
    const held = this.#held;
    this.#held = [];
    this.#timer = undefined;
    for (const transport of held) release(transport);
  };

  /** Holds `transport`'s writes (the 101 response is the next one) until released. */
  hold(transport: Socket): void {
    transport.cork();
    this.#held.push(transport);
    this.#timer ??= setTimeout(this.#releaseAll, RESPONSE_HOLD_MAX_MS);
  }

  /** Lets every held connection go now (at shutdown). */
  releaseAll(): void {
    clearTimeout(this.#timer);
    this.#releaseAll();
  }
}

/**
 * Sends what a held connection's writes buffered (one `writev`); nothing when it is not held.
 * ws corks and uncorks within its own synchronous writes only, so a corked connection seen here
 * is one that {@link ResponseHold.hold} corked.
 */
export function release(transport: Socket | undefined): void {
  if (transport !== undefined && transport.writableCorked > 0) transport.uncork();
}
