import {
  controlEvents,
  type ResyncData,
  resyncDataSchema,
  syncedDataSchema,
} from '@huleedu/ws-protocol';
import { WebSocket } from 'ws';
import { resumeUrl } from './history.js';

/** One notification as a {@link ResumingClient} received it (duplicates and all). */
export interface ReceivedNotification {
  /** The publisher's number, from `data.sequence`. */
  readonly sequence: number;
  readonly position: number;
  readonly epoch: string;
  /** `performance.now()` on arrival. */
  readonly at: number;
}

/** Options of {@link ResumingClient}. */
export interface ResumingClientOptions {
  /** For reports: `alice#1`. */
  readonly name: string;
  readonly token: string;
  /**
   * Where the service is now (`ws://host:port/ws`), asked again on every (re)connect, so the
   * client fails over; undefined when nothing is reachable (the client tries again later).
   */
  readonly endpoint: () => string | undefined;
  /**
   * Pause before a reconnect: `minBackoffMs` (default 25), doubling per failed attempt up to
   * `maxBackoffMs` (default 200).
   */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Consecutive attempts without admission before the client gives up (default 400). */
  readonly maxFailedAttempts?: number;
}

/**
 * A raw `ws` client that behaves like a browser tab with a resuming client: it reconnects after
 * every close with a short backoff, and resumes with the `position` and `epoch` of the last
 * positioned message it received (or of the last `ws.synced` / `ws.resync`). It records every
 * notification exactly as received, WITHOUT dropping duplicates, so a test judges the service's
 * guarantee rather than the client's defences.
 */
export class ResumingClient {
  /** Every notification received, in arrival order. */
  readonly received: ReceivedNotification[] = [];
  /** Every `ws.resync` received, with `performance.now()` on arrival. */
  readonly resyncs: Array<ResyncData & { readonly at: number }> = [];
  /** Frames that were neither a positioned notification nor a control message. */
  readonly unexpected: string[] = [];
  /**
   * `performance.now()` of every admission (its `ws.synced`, or a `ws.resync` in its place); the
   * first one is the initial connect.
   */
  readonly admittedAt: number[] = [];
  /** Why the client stopped reconnecting, when it gave up. */
  failure: string | undefined;

  private position: number | undefined;
  private epoch: string | undefined;
  private socket: WebSocket | undefined;
  /** Whether the current socket got its `ws.synced` (or `ws.resync`). */
  private admitted = false;
  private failedAttempts = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ResumingClientOptions) {}

  /** The report name. */
  get name(): string {
    return this.options.name;
  }

  /** Whether the socket is open and admitted (its `ws.synced` or `ws.resync` came). */
  get synced(): boolean {
    return this.socket?.readyState === WebSocket.OPEN && this.admitted;
  }

  /** Connects; reconnects on every close until {@link ResumingClient.stop}. */
  start(): void {
    this.connect();
  }

  /** Stops reconnecting and closes the socket. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.terminate();
  }

  /** The URL of the next attempt, with the resume parameters. */
  private nextUrl(): string | undefined {
    const endpoint = this.options.endpoint();
    if (endpoint === undefined) return undefined;
    // Position 0 without an epoch: synced while the user had no history yet.
    return resumeUrl(`${endpoint}?token=${this.options.token}`, {
      ...(this.position === undefined ? {} : { position: this.position }),
      ...(this.epoch === undefined ? {} : { epoch: this.epoch }),
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const url = this.nextUrl();
    if (url === undefined) {
      this.retry();
      return;
    }
    const socket = new WebSocket(url, { handshakeTimeout: 5_000 });
    this.socket = socket;
    this.admitted = false;
    socket.on('message', (data) => this.onFrame(String(data)));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (this.socket === socket) this.retry();
    });
  }

  private retry(): void {
    if (this.stopped) return;
    const max = this.options.maxFailedAttempts ?? 400;
    if (++this.failedAttempts > max) {
      this.failure = `${this.name}: not admitted after ${max} attempts`;
      return;
    }
    const min = this.options.minBackoffMs ?? 25;
    const delay = Math.min(
      min * 2 ** Math.min(this.failedAttempts - 1, 8),
      this.options.maxBackoffMs ?? 200,
    );
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private onFrame(text: string): void {
    let message: { event?: unknown; data?: unknown; position?: unknown; epoch?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      this.unexpected.push(text);
      return;
    }
    if (message.event === controlEvents.SYNCED) {
      const synced = syncedDataSchema.safeParse(message.data);
      if (!synced.success) {
        this.unexpected.push(text);
        return;
      }
      this.moveTo(synced.data.position, synced.data.epoch);
      this.admit();
      return;
    }
    if (message.event === controlEvents.RESYNC) {
      const resync = resyncDataSchema.safeParse(message.data);
      if (!resync.success) {
        this.unexpected.push(text);
        return;
      }
      this.resyncs.push({ ...resync.data, at: performance.now() });
      this.moveTo(resync.data.position, resync.data.epoch);
      // A resync answers an admission too (the guarantee is then broken, which the test reports).
      if (!this.admitted) this.admit();
      return;
    }
    const sequence = (message.data as { sequence?: unknown } | undefined)?.sequence;
    if (
      typeof message.position !== 'number' ||
      typeof message.epoch !== 'string' ||
      typeof sequence !== 'number'
    ) {
      this.unexpected.push(text);
      return;
    }
    this.moveTo(message.position, message.epoch);
    this.received.push({
      sequence,
      position: message.position,
      epoch: message.epoch,
      at: performance.now(),
    });
  }

  private admit(): void {
    this.admitted = true;
    this.failedAttempts = 0;
    this.admittedAt.push(performance.now());
  }

  private moveTo(position: number, epoch: string | null): void {
    this.position = position;
    this.epoch = epoch ?? undefined;
  }
}
