import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import {
  checkInboundBudget,
  fillInboundBucket,
  type InboundBucket,
  type InboundBudget,
  inboundTokensAt,
  takeInboundFrame,
} from './inbound-budget.js';

/** The limits a {@link ConnectionBudget} enforces before any token is looked at. */
export interface ConnectionLimits {
  /** WebSocket sockets this process holds at most (refused or admitted, until they close). */
  readonly maxConnections: number;
  /** Of those, from one client address. */
  readonly maxConnectionsPerAddress: number;
  /** Handshakes one client address may start: a burst, then a sustained rate per second. */
  readonly handshakes: InboundBudget;
}

/** Why a handshake was turned away before the upgrade, with the HTTP answer it gets. */
export interface BudgetRefusal {
  readonly reason: BudgetRefusalReason;
  /** 503: this process is full (another instance may not be); 429: this address asks too much. */
  readonly status: 503 | 429;
  /** Seconds after which a retry may succeed (the `Retry-After` header). */
  readonly retryAfterSeconds: number;
}

/** Label values of the refusals a {@link ConnectionBudget} makes. */
export type BudgetRefusalReason = 'capacity' | 'address_connections' | 'handshake_rate';

/** Every {@link BudgetRefusalReason}, for metrics that start each series at 0. */
export const budgetRefusalReasons: readonly BudgetRefusalReason[] = [
  'capacity',
  'address_connections',
  'handshake_rate',
];

/**
 * Descriptors kept free for what must keep working at the socket limit: health probes, the
 * Redis connections, logging, the handshakes being refused.
 */
export const DESCRIPTOR_RESERVE = 1024;

/**
 * Sockets per client address by default. A school's teachers often share one NAT address: 300
 * teachers with a few tabs each is about 1,000 sockets. One address cannot hold more than this,
 * so an attacker on one address gets at most this many, not the whole process.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 2_000;

/**
 * Handshakes per client address by default. After a deploy every tab behind a school's NAT
 * reconnects within the client's spread window (a few seconds), so the burst covers a whole
 * school at once; the sustained rate still cuts a refusal flood (each refused token costs a
 * verification) to a tenth of what one address could send.
 */
export const DEFAULT_HANDSHAKES_PER_ADDRESS: InboundBudget = { burst: 1_000, perSecond: 200 };

/** Addresses whose handshake buckets are remembered at once; beyond it, idle ones are forgotten. */
const MAX_TRACKED_ADDRESSES = 50_000;

/**
 * Descriptors kept free beyond every TCP connection: the process's own (standard streams, the
 * event loop, the Redis connections, one per cluster node or two in cluster mode).
 */
export const TCP_DESCRIPTOR_RESERVE = 128;

/**
 * The process's open-file limit (the soft one), read from `/proc/self/limits` (Linux);
 * `undefined` where that cannot be read or there is no limit.
 */
export function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * The default global cap of WebSocket sockets: the open-file limit less
 * {@link DESCRIPTOR_RESERVE}; `fallback` where the limit cannot be read.
 */
export function defaultMaxConnections(fallback = 10_000): number {
  const limit = openFileLimit();
  return limit === undefined ? fallback : Math.max(64, limit - DESCRIPTOR_RESERVE);
}

/**
 * The default cap of TCP connections of every kind (idle, HTTP, WebSocket): the open-file limit
 * less {@link TCP_DESCRIPTOR_RESERVE}, so accepting a connection never fails for want of a
 * descriptor; always above {@link defaultMaxConnections}, so the room between the two is kept
 * for health probes and handshakes when the sockets are at their cap.
 */
export function defaultMaxTcpConnections(
  fallback = 10_000 + DESCRIPTOR_RESERVE - TCP_DESCRIPTOR_RESERVE,
): number {
  const limit = openFileLimit();
  return limit === undefined ? fallback : Math.max(128, limit - TCP_DESCRIPTOR_RESERVE);
}

interface AddressState extends InboundBucket {
  open: number;
}

/** Where {@link ConnectionBudget.hold} keeps a connection's address: on the socket. */
const HELD_ADDRESS = Symbol('budgetAddress');
type HoldingSocket = Duplex & { [HELD_ADDRESS]?: string | undefined };

/**
 * Decides, before the upgrade and before the token is verified, whether this process takes one
 * more WebSocket from a client address: a global cap (so the file table never fills), a cap
 * per address, and a handshake rate per address (token bucket). A refusal is cheap: no token is
 * parsed, and the caller answers with plain HTTP and `Retry-After`.
 */
export class ConnectionBudget {
  readonly #limits: ConnectionLimits;
  readonly #now: () => number;
  readonly #addresses = new Map<string, AddressState>();
  #open = 0;
  /** The close listener of every held socket (`this` is the socket): one function, no closures. */
  readonly #releaseHeld: (this: Duplex) => void;

  constructor(limits: ConnectionLimits, now: () => number = () => performance.now()) {
    for (const [name, value] of Object.entries({
      maxConnections: limits.maxConnections,
      maxConnectionsPerAddress: limits.maxConnectionsPerAddress,
    })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`${name} must be a positive integer, got ${value}`);
      }
    }
    checkInboundBudget(limits.handshakes, 'handshake');
    this.#limits = limits;
    this.#now = now;
    const budget = this;
    this.#releaseHeld = function () {
      budget.releaseHeld(this);
    };
  }

  /** WebSocket sockets counted now. */
  get open(): number {
    return this.#open;
  }

  /**
   * Judges a handshake from `address`. `undefined`: go ahead, and call {@link release} with the
   * same address once that socket closes (or the upgrade fails). Otherwise the refusal to send.
   */
  admit(address: string): BudgetRefusal | undefined {
    const state = this.#state(address);
    if (!takeInboundFrame(state, this.#limits.handshakes, this.#now())) {
      const waitSeconds = Math.ceil((1 - state.inboundTokens) / this.#limits.handshakes.perSecond);
      return { reason: 'handshake_rate', status: 429, retryAfterSeconds: Math.max(1, waitSeconds) };
    }
    if (this.#open >= this.#limits.maxConnections) {
      return { reason: 'capacity', status: 503, retryAfterSeconds: 5 };
    }
    if (state.open >= this.#limits.maxConnectionsPerAddress) {
      return { reason: 'address_connections', status: 429, retryAfterSeconds: 30 };
    }
    state.open++;
    this.#open++;
    return undefined;
  }

  /** Gives back the place a successful {@link admit} took. */
  release(address: string): void {
    const state = this.#addresses.get(address);
    if (state === undefined || state.open === 0) return;
    state.open--;
    this.#open--;
  }

  /**
   * Holds the place {@link admit} took for `socket` (the TCP connection of the handshake) until
   * {@link releaseHeld}, which a shared close listener on `socket` calls until {@link unwatch}.
   * The address rides on the socket and the listener is shared: a closure per connection would
   * be kept as long as the socket is open, and one created in the upgrade handler would keep that
   * handler's whole scope (the request, its headers and URL with the token, the read buffer
   * behind `head`) for as long as the socket is open. `on`, not `once`: a socket closes once, and
   * `once` would add a wrapper per socket.
   */
  hold(socket: Duplex, address: string): void {
    (socket as HoldingSocket)[HELD_ADDRESS] = address;
    this.watch(socket);
  }

  /** Releases the place held for `socket` when it closes (again, after {@link unwatch}). */
  watch(socket: Duplex): void {
    socket.on('close', this.#releaseHeld);
  }

  /**
   * Stops listening for `socket`'s close: the caller calls {@link releaseHeld} itself from now on.
   * `Sessions` does so once the upgrade completed, from the WebSocket's close, which saves every
   * idle socket a third close listener on its TCP connection (Node's listener array would grow
   * to a much larger backing store).
   */
  unwatch(socket: Duplex): void {
    socket.off('close', this.#releaseHeld);
  }

  /** Gives back the place held for `socket`, once: later calls, or calls for others, do nothing. */
  releaseHeld(socket: Duplex): void {
    const holding = socket as HoldingSocket;
    const address = holding[HELD_ADDRESS];
    if (address === undefined) return;
    holding[HELD_ADDRESS] = undefined;
    this.release(address);
  }

  #state(address: string): AddressState {
    let state = this.#addresses.get(address);
    if (state === undefined) {
      if (this.#addresses.size >= MAX_TRACKED_ADDRESSES) this.#forgetIdle();
      state = { open: 0, inboundTokens: 0, inboundCountedAt: 0 };
      fillInboundBucket(state, this.#limits.handshakes, this.#now());
      this.#addresses.set(address, state);
    }
    return state;
  }

  /** Drops addresses with no open socket and a full bucket: they start again where they were. */
  #forgetIdle(): void {
    const now = this.#now();
    const handshakes = this.#limits.handshakes;
    for (const [address, state] of this.#addresses) {
      const full = inboundTokensAt(state, handshakes, now) >= handshakes.burst;
      if (state.open === 0 && full) this.#addresses.delete(address);
    }
  }
}

/**
 * The client address of a request: the peer's address, or, when the peer is one of
 * `trustedProxies` (a load balancer), the last `X-Forwarded-For` entry that is not a trusted
 * proxy. Without trusted proxies the header is ignored: anyone can write it.
 */
export function clientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: ReadonlySet<string>,
): string {
  const peer = normalizeAddress(remoteAddress ?? '');
  if (!trustedProxies.has(peer) || forwardedFor === undefined) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((hop) => normalizeAddress(hop.trim()))
    .filter((hop) => hop !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trustedProxies.has(hops[i]!)) return hops[i]!;
  }
  return peer;
}

/** `::ffff:10.0.0.1` (IPv4 on an IPv6 socket) and `10.0.0.1` are the same client. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
