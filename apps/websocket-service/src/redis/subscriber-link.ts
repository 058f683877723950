import type { Redis, RedisOptions } from 'ioredis';
import type { PubSubMode } from '../config.js';
import type { Logger } from '../logger.js';
import { connectRedis, OutageLog, reconnectDelay } from './connection.js';

/** Options for {@link SubscriberLink}. */
export interface SubscriberLinkOptions {
  /** A redis:// URL, or connection options (host, port, credentials, TLS) of one cluster node. */
  readonly target: string | RedisOptions;
  /** Where the connection goes, for logs (`host:port`, never a password). */
  readonly node: string;
  /** `classic`: SUBSCRIBE / `message`. `sharded`: SSUBSCRIBE / `smessage`. */
  readonly pubsub: PubSubMode;
  /**
   * Channels sent in one (S)SUBSCRIBE must share this key. A Redis Cluster refuses one
   * SSUBSCRIBE naming channels of different hash slots (CROSSSLOT), so there it is the slot.
   */
  readonly groupOf?: (channel: string) => number;
  /**
   * Stop reconnecting after this many failed attempts in a row and call {@link onGiveUp} (the
   * owner then picks another node). Unset: retry forever.
   */
  readonly maxReconnectAttempts?: number;
  /** The outage this link joins was already reported: log its connection errors at debug. */
  readonly outageReported?: boolean;
  readonly logger: Logger;
  /** Each message on a subscribed channel: channel name and payload bytes as Redis sent them. */
  readonly onMessage: (channel: Buffer, payload: Buffer) => void;
  /** {@link SubscriberLink.ready} changed. */
  readonly onReadyChange: (ready: boolean) => void;
  /** The connection gave up after {@link maxReconnectAttempts}. */
  readonly onGiveUp?: () => void;
  /** Redis answered MOVED to an SSUBSCRIBE: the caller's slot map is stale. */
  readonly onMoved?: () => void;
  /**
   * Redis confirmed these channels subscribed on this connection: a new channel, a channel again
   * after it was dropped and wanted again, or every channel after a (re)connect or a retry
   * (`everything` true). Messages published on them from now on reach this link; messages
   * published before may have been missed (the channel was not subscribed, or the connection was
   * down), which is why the history reads of their users wait for this.
   */
  readonly onConfirmed?: (channels: readonly string[], everything: boolean) => void;
  /** Counts: every full resubscription after a (re)connect, every refused (S)SUBSCRIBE command. */
  readonly onResubscribed?: () => void;
  readonly onSubscribeFailed?: () => void;
}

/** Channels per (S)SUBSCRIBE command. */
const SUBSCRIBE_BATCH = 1000;
/** First and longest pause before subscribing again after Redis refused a subscription. */
const RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 5000;
/** ioredis' error for a reply no command was waiting for, here a server-sent SUNSUBSCRIBE. */
const UNSOLICITED_SUNSUBSCRIBE = /^Command queue state error\..*Last reply: sunsubscribe,/s;
/** How long a clean QUIT may take at shutdown before the connection is dropped. */
const QUIT_TIMEOUT_MS = 2000;

/**
 * One Redis connection in subscriber mode that keeps a wanted set of channels subscribed. The
 * wanted set is the single source of truth: ioredis' `autoResubscribe` only replays channels
 * Redis had confirmed and mixes them with queued commands; instead, every time the connection
 * becomes ready this link subscribes exactly the channels wanted right now, and while Redis is
 * away nothing is queued. Changes are batched per event-loop turn, so a reconnect storm of
 * thousands of sockets costs a few commands, not thousands.
 *
 * A subscription Redis refuses (an error reply, MOVED after a slot moved, an old Redis without
 * SSUBSCRIBE) is never dropped silently: the link turns not ready, logs it, and subscribes every
 * wanted channel again with a growing pause until Redis accepts.
 */
export class SubscriberLink {
  readonly node: string;
  readonly #options: SubscriberLinkOptions;
  readonly #redis: Redis;
  readonly #wanted = new Set<string>();
  /** Channels whose wanted state changed since the last flush. */
  readonly #dirty = new Set<string>();
  /** Wanted channels Redis confirmed subscribed on the current connection. */
  readonly #confirmed = new Set<string>();
  /**
   * Channel -> the latest SUBSCRIBE sent for it, until Redis confirms it. A confirmation of an
   * older SUBSCRIBE (the channel was dropped and wanted again meanwhile) confirms nothing.
   */
  readonly #pending = new Map<string, number>();
  #subscribeCount = 0;
  #flushScheduled = false;
  #ready = false;
  /**
   * Bumped on every (re)connect, close and refused subscription: a late reply belonging to an
   * older round is ignored.
   */
  #epoch = 0;
  #closed = false;
  readonly #outage: OutageLog;
  #retryTimer: NodeJS.Timeout | undefined;
  #retries = 0;
  /** A refusal was logged as a warning since the last full subscription (retries log at debug). */
  #refusalLogged = false;
  #reconnectFailures = 0;

  constructor(options: SubscriberLinkOptions) {
    this.#options = options;
    this.node = options.node;
    this.#outage = new OutageLog(
      options.logger,
      'redis error',
      { node: options.node },
      options.outageReported ?? false,
    );
    const connection: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: null,
      connectionName: 'huleedu-websocket-service',
      retryStrategy: (attempt) => {
        const max = options.maxReconnectAttempts;
        if (max !== undefined && attempt > max) return null;
        return reconnectDelay(attempt);
      },
    };
    this.#redis = connectRedis(options.target, connection);
    this.#redis.on('ready', () => this.#onReady());
    this.#redis.on('close', () => this.#onClose());
    this.#redis.on('end', () => this.#onEnd());
    this.#redis.on('error', (error: Error) => this.#onError(error));
    // The Buffer variants skip ioredis' decode of every payload; delivery decodes once itself.
    const event = options.pubsub === 'sharded' ? 'smessageBuffer' : 'messageBuffer';
    this.#redis.on(event, (channel: Buffer, payload: Buffer) =>
      options.onMessage(channel, payload),
    );
    // ioredis answers MOVED to an SSUBSCRIBE with this event and never settles the command.
    this.#redis.on('moved', () => this.#onMoved());
  }

  /** True when connected and every wanted channel is subscribed (as far as Redis confirmed). */
  get ready(): boolean {
    return this.#ready;
  }

  /** Number of channels this link keeps subscribed. */
  get size(): number {
    return this.#wanted.size;
  }

  /** Whether `channel` is in the wanted set. */
  has(channel: string): boolean {
    return this.#wanted.has(channel);
  }

  /** Whether Redis confirmed `channel` subscribed on the current connection. */
  isConfirmed(channel: string): boolean {
    return this.#confirmed.has(channel);
  }

  /** The wanted channels (a live view: do not change the set while iterating). */
  channels(): IterableIterator<string> {
    return this.#wanted.values();
  }

  /** Starts connecting; while Redis is unreachable the link retries in the background. */
  start(): void {
    this.#redis.connect().catch((error: Error) => {
      // The retry strategy keeps trying; the 'error' handler has already logged the cause.
      this.#options.logger.debug(
        { node: this.node, err: error.message },
        'first redis connection attempt failed',
      );
    });
  }

  /** Adds a channel to the wanted set; it is subscribed within the current event-loop turn. */
  want(channel: string): void {
    if (this.#wanted.has(channel)) return;
    this.#wanted.add(channel);
    this.#markDirty(channel);
  }

  /** Removes a channel from the wanted set; it is unsubscribed within the current turn. */
  unwant(channel: string): void {
    if (!this.#wanted.delete(channel)) return;
    this.#unconfirm(channel);
    this.#markDirty(channel);
  }

  /**
   * Removes a channel without telling Redis: its slot moved to another master, which already
   * dropped the subscription (an SUNSUBSCRIBE now would only earn a MOVED).
   */
  forget(channel: string): void {
    this.#wanted.delete(channel);
    this.#dirty.delete(channel);
    this.#unconfirm(channel);
  }

  /** Leaves Redis cleanly (QUIT), or drops the connection if Redis is unreachable. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#epoch++;
    clearTimeout(this.#retryTimer);
    this.#setReady(false);
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

  /** Sends the batched changes, if Redis is ready (else the next full round covers them). */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#dirty.size === 0) return;
    if (this.#closed || this.#redis.status !== 'ready') {
      this.#dirty.clear();
      return;
    }
    const subscribe: string[] = [];
    const unsubscribe: string[] = [];
    for (const channel of this.#dirty) {
      (this.#wanted.has(channel) ? subscribe : unsubscribe).push(channel);
    }
    this.#dirty.clear();
    const epoch = this.#epoch;
    if (unsubscribe.length > 0) void this.#send('unsubscribe', unsubscribe, epoch);
    if (subscribe.length > 0) {
      const id = this.#markPending(subscribe);
      void this.#send('subscribe', subscribe, epoch).then((ok) => {
        if (epoch !== this.#epoch) return;
        if (ok) this.#confirm(subscribe, id, false);
        else this.#retryLater();
      });
    }
  }

  /**
   * Subscribes every wanted channel; ready once Redis confirmed all of them. Runs on every
   * (re)connect and after a refused subscription.
   */
  #subscribeAll(reason: 'connected' | 'retry'): void {
    const epoch = this.#epoch;
    // This round covers every wanted channel: pending changes are included.
    this.#dirty.clear();
    const channels = [...this.#wanted];
    const id = this.#markPending(channels);
    void this.#send('subscribe', channels, epoch).then((ok) => {
      if (epoch !== this.#epoch || this.#closed) return;
      if (!ok) {
        this.#retryLater();
        return;
      }
      this.#retries = 0;
      this.#refusalLogged = false;
      this.#options.logger.info(
        { node: this.node, channels: channels.length, reason },
        'redis subscriber ready',
      );
      if (reason === 'connected') this.#options.onResubscribed?.();
      this.#setReady(true);
      this.#confirm(channels, id, true);
    });
  }

  /** Records a SUBSCRIBE about to be sent for `channels`; returns its id. */
  #markPending(channels: readonly string[]): number {
    const id = ++this.#subscribeCount;
    for (const channel of channels) this.#pending.set(channel, id);
    return id;
  }

  /** Redis accepted SUBSCRIBE `id`: its channels still wanted and not re-sent since are confirmed. */
  #confirm(channels: readonly string[], id: number, everything: boolean): void {
    const confirmed: string[] = [];
    for (const channel of channels) {
      if (this.#pending.get(channel) !== id || !this.#wanted.has(channel)) continue;
      this.#pending.delete(channel);
      this.#confirmed.add(channel);
      confirmed.push(channel);
    }
    if (confirmed.length > 0) this.#options.onConfirmed?.(confirmed, everything);
  }

  #unconfirm(channel: string): void {
    this.#confirmed.delete(channel);
    this.#pending.delete(channel);
  }

  /** Sends (un)subscribe commands in groups; resolves false if any failed on this connection. */
  #send(kind: 'subscribe' | 'unsubscribe', channels: string[], epoch: number): Promise<boolean> {
    const sharded = this.#options.pubsub === 'sharded';
    const command = sharded ? (kind === 'subscribe' ? 'ssubscribe' : 'sunsubscribe') : kind;
    const sends: Promise<boolean>[] = [];
    for (const group of groupChannels(channels, this.#options.groupOf)) {
      for (let i = 0; i < group.length; i += SUBSCRIBE_BATCH) {
        const batch = group.slice(i, i + SUBSCRIBE_BATCH);
        sends.push(
          this.#redis[command](...batch).then(
            () => true,
            (error: Error) => {
              this.#onCommandFailed(command, batch.length, error, epoch);
              return false;
            },
          ),
        );
      }
    }
    return Promise.all(sends).then((results) => results.every(Boolean));
  }

  #onCommandFailed(command: string, channels: number, error: Error, epoch: number): void {
    // A dropped connection rejects in-flight commands; the next ready resubscribes everything.
    if (epoch !== this.#epoch || this.#closed || this.#redis.status !== 'ready') return;
    this.#options.onSubscribeFailed?.();
    const unknown = /unknown command/i.test(error.message);
    // Retried every few seconds until Redis accepts: one warning (or error) per episode.
    const level = this.#refusalLogged ? 'debug' : unknown ? 'error' : 'warn';
    this.#refusalLogged = true;
    this.#options.logger[level](
      { node: this.node, err: error.message, channels },
      unknown
        ? `redis ${command} failed: this Redis does not know the command (WEBSOCKET_PUBSUB=sharded needs Redis 7 or later)`
        : `redis ${command} failed`,
    );
  }

  /** Turns not ready and subscribes everything again after a growing pause. */
  #retryLater(): void {
    this.#setReady(false);
    if (this.#retryTimer !== undefined || this.#closed) return;
    const delay = Math.min(RETRY_DELAY_MS * 2 ** this.#retries, MAX_RETRY_DELAY_MS);
    this.#retries++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#closed || this.#redis.status !== 'ready') return;
      this.#epoch++;
      this.#subscribeAll('retry');
    }, delay);
  }

  #onReady(): void {
    if (this.#closed) return;
    this.#epoch++;
    this.#outage.ready();
    this.#reconnectFailures = 0;
    this.#retries = 0;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    // A fresh connection has no subscriptions: subscribe everything wanted right now.
    this.#subscribeAll('connected');
  }

  #onMoved(): void {
    if (this.#closed) return;
    this.#options.logger.warn(
      { node: this.node },
      'redis answered MOVED to a sharded subscribe: refreshing the cluster slot map',
    );
    this.#options.onSubscribeFailed?.();
    this.#options.onMoved?.();
    // The refused command never settles; a new epoch abandons its round.
    this.#epoch++;
    this.#retryLater();
  }

  #onClose(): void {
    this.#epoch++;
    // A new connection starts with no subscription at all.
    this.#confirmed.clear();
    this.#pending.clear();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#ready && !this.#closed) {
      this.#options.logger.warn(
        { node: this.node, channels: this.#wanted.size },
        'redis subscriber disconnected; reconnecting',
      );
    }
    this.#reconnectFailures++;
    this.#setReady(false);
  }

  #onEnd(): void {
    if (this.#closed) return;
    this.#options.logger.debug(
      { node: this.node, attempts: this.#reconnectFailures },
      'redis subscriber gave up on this node',
    );
    this.#options.onGiveUp?.();
  }

  #onError(error: Error): void {
    if (this.#closed) return;
    // When a slot moves away, Redis unsubscribes its channels on its own; ioredis, expecting no
    // such reply, reports it as an error (wording of ioredis 5.9). It is news, not a fault: the
    // slot map is stale.
    if (UNSOLICITED_SUNSUBSCRIBE.test(error.message)) {
      this.#options.logger.info(
        { node: this.node },
        'redis dropped sharded subscriptions of a slot that moved away: refreshing the slot map',
      );
      this.#options.onMoved?.();
      return;
    }
    this.#outage.error(error);
  }

  #setReady(ready: boolean): void {
    if (this.#ready === ready) return;
    this.#ready = ready;
    this.#options.onReadyChange(ready);
  }
}

/** Splits channels into groups that may share one command (all of them when no key is given). */
function groupChannels(
  channels: readonly string[],
  groupOf: ((channel: string) => number) | undefined,
): string[][] {
  if (groupOf === undefined || channels.length <= 1) return [channels.slice()];
  const groups = new Map<number, string[]>();
  for (const channel of channels) {
    const key = groupOf(channel);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [channel]);
    else group.push(channel);
  }
  return [...groups.values()];
}
