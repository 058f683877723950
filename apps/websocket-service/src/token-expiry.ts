import { OPEN } from './frames.js';
/** The part of a socket the expiry sweep uses. */
export interface ExpiringSocket {
  readonly expiresAt: number;
  readonly readyState: number;
}

/** What {@link TokenExpiry} needs. */
export interface TokenExpiryOptions<Socket extends ExpiringSocket> {
  /** Visits every admitted socket; the sweep does not add or remove sockets while visiting. */
  readonly forEachSocket: (visit: (socket: Socket) => void) => void;
  /** Closes a socket whose token expired (with 1008 `token_expired`). */
  readonly onExpired: (socket: Socket) => void;
  /** How often to look at the clock; sockets close at most this late. Default 1000 ms. */
  readonly resolutionMs?: number;
  readonly now?: () => number;
}

/**
 * Closes sockets whose token expires while they are connected, with one timer for the whole
 * process instead of a timeout per socket. The timer only checks one number (the earliest
 * known expiry); it walks the sockets only when that moment has come.
 */
export class TokenExpiry<Socket extends ExpiringSocket> {
  readonly #options: TokenExpiryOptions<Socket>;
  readonly #now: () => number;
  #nextDue = Number.POSITIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: TokenExpiryOptions<Socket>) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Starts the clock. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sweep(), this.#options.resolutionMs ?? 1000);
    this.#timer.unref();
  }

  /** Stops the clock. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Records that a socket with this expiry was admitted. */
  track(expiresAt: number): void {
    if (expiresAt < this.#nextDue) this.#nextDue = expiresAt;
  }

  /** Closes every open socket whose token has expired; normally called by the timer. */
  sweep(): void {
    const now = this.#now();
    if (now < this.#nextDue) return;
    const expired: Socket[] = [];
    let nextDue = Number.POSITIVE_INFINITY;
    this.#options.forEachSocket((socket) => {
      if (socket.readyState !== OPEN) return;
      if (socket.expiresAt <= now) expired.push(socket);
      else if (socket.expiresAt < nextDue) nextDue = socket.expiresAt;
    });
    this.#nextDue = nextDue;
    for (const socket of expired) this.#options.onExpired(socket);
  }
}
