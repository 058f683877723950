import { isRevoked } from '@huleedu/ws-protocol';
import type { Logger } from '../logger.js';

/** The part of a socket the sweep looks at. */
export interface RevocableSocket {
  /** The token's `iat`, epoch seconds; `undefined` when it had none. */
  readonly issuedAt: number | undefined;
}

/** What {@link RevocationSweep} needs. */
export interface RevocationSweepOptions<Socket extends RevocableSocket> {
  /** Epoch seconds before which the user's tokens are revoked (rejects when Redis cannot say). */
  readonly revokedBefore: (userId: string) => Promise<number | undefined>;
  readonly socketsOf: (userId: string) => readonly Socket[] | undefined;
  /** Closes a socket whose token is revoked (1008 `token_revoked`). */
  readonly close: (socket: Socket) => void;
  readonly logger: Logger;
  /** How long after {@link RevocationSweep.recheck} the key is read again. Default 1000 ms. */
  readonly delayMs?: number;
}

/**
 * Reads a user's revocation key again a moment after the user's socket was admitted, and when
 * Redis confirms the user's channel subscribed (new, or again after a reconnect or a cluster
 * move); closes the sockets whose token it revokes. It closes the two windows in which a `ws.disconnect` can miss an instance: a
 * handshake that read the key just before `disconnectUser` wrote it and subscribed the user's
 * channel just after the command was published, and commands published while the subscriber was
 * away. Only revocations with `issuedBefore` leave a key, so only those are caught here.
 *
 * One timer and one batch of reads per delay, however many users are queued; a user whose read
 * fails stays queued for the next round.
 */
export class RevocationSweep<Socket extends RevocableSocket> {
  readonly #options: RevocationSweepOptions<Socket>;
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: RevocationSweepOptions<Socket>) {
    this.#options = options;
  }

  /** Users queued for the next round. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Reads `userId`'s key again after the delay. */
  recheck(userId: string): void {
    this.#pending.add(userId);
    this.#schedule();
  }

  /** Reads the key of every user in `userIds` after the delay. */
  recheckAll(userIds: Iterable<string>): void {
    for (const userId of userIds) this.#pending.add(userId);
    this.#schedule();
  }

  /** Stops the timer; queued users are forgotten. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#stopped || this.#pending.size === 0) return;
    this.#timer = setTimeout(() => this.#sweep(), this.#options.delayMs ?? 1000);
    this.#timer.unref();
  }

  #sweep(): void {
    this.#timer = undefined;
    const users = [...this.#pending];
    this.#pending.clear();
    const { revokedBefore, socketsOf, close, logger } = this.#options;
    let failed = 0;
    const reads = users.map((userId) =>
      revokedBefore(userId).then(
        (before) => {
          if (before === undefined) return;
          for (const socket of [...(socketsOf(userId) ?? [])]) {
            if (isRevoked(socket.issuedAt, before)) close(socket);
          }
        },
        () => {
          // Still connected: try again next round. Gone: nothing left to check.
          if (socketsOf(userId) === undefined || this.#stopped) return;
          failed++;
          this.#pending.add(userId);
        },
      ),
    );
    void Promise.all(reads).then(() => {
      if (failed > 0) logger.debug({ users: failed }, 'revocation re-check failed; retrying');
      this.#schedule();
    });
  }
}
