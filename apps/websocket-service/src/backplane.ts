import { userChannel, userIdFromChannel } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/** Options for {@link Backplane}. */
export interface BackplaneOptions {
  readonly redisUrl: string;
  readonly channelPrefix: string;
  readonly logger: Logger;
  /**
   * Called once per message published on a channel this instance is subscribed to, with the
   * payload bytes as Redis sent them. The Buffer may share memory that ioredis reuses for later
   * replies: copy it before keeping it beyond the call.
   */
  readonly onMessage: (userId: string, payload: Buffer) => void;
  /** Called when the subscriber becomes usable (`true`) or loses Redis (`false`). */
  readonly onConnectedChange?: (connected: boolean) => void;
}

/** Channels per SUBSCRIBE command when resubscribing after a reconnect. */
const SUBSCRIBE_BATCH = 1000;
/** Longest pause between reconnect attempts while Redis is down. */
const MAX_RECONNECT_DELAY_MS = 2000;
/** How long a clean QUIT may take at shutdown before the connection is dropped. */
const QUIT_TIMEOUT_MS = 2000;

/**
 * The instance's one Redis subscriber connection, with reference-counted user channels: a
 * channel is subscribed when the first socket of its user arrives and unsubscribed when the last
 * one leaves. Never one Redis connection per WebSocket.
 *
 * The reference counts are the single source of truth. ioredis' own `autoResubscribe` only
 * replays channels Redis had confirmed and mixes them with queued commands; instead, every time
 * the connection becomes ready this class subscribes exactly the channels that currently have a
 * socket, and while Redis is away nothing is queued (changes are picked up on the next ready).
 * Subscription changes are batched per event-loop turn, so a reconnect storm of thousands of
 * sockets costs a few SUBSCRIBE commands, not thousands.
 */
export class Backplane {
  readonly #options: BackplaneOptions;
  readonly #redis: Redis;
  /** channel -> number of local sockets that need it. */
  readonly #refs = new Map<string, number>();
  /** Channels whose desired state changed since the last flush. */
  readonly #dirty = new Set<string>();
  #flushScheduled = false;
  #connected = false;
  /** Bumped on every (re)connect so a late reply from an old connection is ignored. */
  #generation = 0;
  #closed = false;
  #errorLogged = false;

  constructor(options: BackplaneOptions) {
    this.#options = options;
    this.#redis = new Redis(options.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: null,
      connectionName: 'huleedu-websocket-service',
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    });
    this.#redis.on('ready', () => this.#onReady());
    this.#redis.on('close', () => this.#onClose());
    this.#redis.on('error', (error: Error) => this.#onError(error));
    // The Buffer variant skips ioredis' decode of every payload; delivery decodes once itself.
    this.#redis.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
      const userId = userIdFromChannel(channel.toString(), options.channelPrefix);
      if (userId !== undefined) options.onMessage(userId, payload);
    });
  }

  /**
   * True when the subscriber is connected and every wanted channel has been (re)subscribed:
   * the instance can deliver notifications.
   */
  get connected(): boolean {
    return this.#connected;
  }

  /** Number of user channels this instance wants subscribed (users with a local socket). */
  get channelCount(): number {
    return this.#refs.size;
  }

  /**
   * Starts connecting. Resolves at once: while Redis is unreachable the backplane keeps retrying
   * in the background and {@link connected} stays false.
   */
  start(): void {
    this.#redis.connect().catch((error: Error) => {
      // The retry strategy keeps trying; the 'error' handler has already logged the cause.
      this.#options.logger.debug({ err: error.message }, 'first redis connection attempt failed');
    });
  }

  /** One more local socket of `userId`: subscribes the user's channel if it is the first. */
  retain(userId: string): void {
    const channel = userChannel(userId, this.#options.channelPrefix);
    const count = this.#refs.get(channel);
    if (count === undefined) {
      this.#refs.set(channel, 1);
      this.#markDirty(channel);
    } else {
      this.#refs.set(channel, count + 1);
    }
  }

  /** One fewer local socket of `userId`: unsubscribes the user's channel if it was the last. */
  release(userId: string): void {
    const channel = userChannel(userId, this.#options.channelPrefix);
    const count = this.#refs.get(channel);
    if (count === undefined) return;
    if (count <= 1) {
      this.#refs.delete(channel);
      this.#markDirty(channel);
    } else {
      this.#refs.set(channel, count - 1);
    }
  }

  /** Leaves Redis cleanly (QUIT), or drops the connection if Redis is unreachable. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#setConnected(false);
    const redis = this.#redis;
    if (redis.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, QUIT_TIMEOUT_MS);
      });
      await Promise.race([
        redis.quit().then(
          () => undefined,
          () => undefined,
        ),
        timeout,
      ]);
      clearTimeout(timer);
    }
    redis.disconnect(false);
  }

  #markDirty(channel: string): void {
    this.#dirty.add(channel);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Sends the batched subscription changes, if Redis is ready (else the next ready does it). */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#dirty.size === 0) return;
    // Not ready: nothing to send; the next 'ready' subscribes every channel wanted by then.
    if (this.#closed || this.#redis.status !== 'ready') {
      this.#dirty.clear();
      return;
    }
    const subscribe: string[] = [];
    const unsubscribe: string[] = [];
    for (const channel of this.#dirty) {
      (this.#refs.has(channel) ? subscribe : unsubscribe).push(channel);
    }
    this.#dirty.clear();
    if (unsubscribe.length > 0) this.#send('unsubscribe', unsubscribe);
    if (subscribe.length > 0) this.#send('subscribe', subscribe);
  }

  #send(command: 'subscribe' | 'unsubscribe', channels: string[]): Promise<boolean> {
    const generation = this.#generation;
    return this.#redis[command](...channels).then(
      () => true,
      (error: Error) => {
        // A dropped connection rejects in-flight commands; the next ready resubscribes everything.
        if (generation === this.#generation) {
          this.#options.logger.warn(
            { err: error.message, channels: channels.length },
            `redis ${command} failed`,
          );
        }
        return false;
      },
    );
  }

  #onReady(): void {
    if (this.#closed) return;
    const generation = ++this.#generation;
    this.#errorLogged = false;
    // A fresh connection has no subscriptions: subscribe everything wanted right now.
    this.#dirty.clear();
    const channels = [...this.#refs.keys()];
    const batches: Promise<boolean>[] = [];
    for (let i = 0; i < channels.length; i += SUBSCRIBE_BATCH) {
      batches.push(this.#send('subscribe', channels.slice(i, i + SUBSCRIBE_BATCH)));
    }
    void Promise.all(batches).then((results) => {
      if (generation !== this.#generation || this.#closed) return;
      if (results.every(Boolean) && this.#redis.status === 'ready') {
        this.#options.logger.info({ channels: channels.length }, 'redis subscriber ready');
        this.#setConnected(true);
      }
    });
  }

  #onClose(): void {
    this.#generation++;
    if (this.#connected && !this.#closed) {
      this.#options.logger.warn(
        { channels: this.#refs.size },
        'redis subscriber disconnected; reconnecting',
      );
    }
    this.#setConnected(false);
  }

  #onError(error: Error): void {
    if (this.#closed) return;
    // One warning per outage; the retries that follow would repeat it every couple of seconds.
    if (this.#errorLogged) {
      this.#options.logger.debug({ err: error.message }, 'redis error');
      return;
    }
    this.#errorLogged = true;
    this.#options.logger.warn({ err: error.message }, 'redis error');
  }

  #setConnected(connected: boolean): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    this.#options.onConnectedChange?.(connected);
  }
}
