import { userChannel, userIdFromChannel } from '@huleedu/ws-protocol';
import calculateSlot from 'cluster-key-slot';
import type { PubSubMode, RedisSettings } from '../config.js';
import type { Logger } from '../logger.js';
import { RedisClusterTopology } from './cluster-topology.js';
import { SubscriberLink } from './subscriber-link.js';

/** Options for {@link Backplane}. */
export interface BackplaneOptions {
  /** One Redis server, or the seed nodes of a Redis Cluster. */
  readonly redis: RedisSettings;
  /** SUBSCRIBE (`classic`, the default) or SSUBSCRIBE (`sharded`, Redis 7+). */
  readonly pubsub?: PubSubMode;
  readonly channelPrefix: string;
  readonly logger: Logger;
  /**
   * Called once per message published on a channel this instance is subscribed to, with the
   * payload bytes as Redis sent them. The Buffer may share memory that ioredis reuses for later
   * replies: copy it before keeping it beyond the call.
   */
  readonly onMessage: (userId: string, payload: Buffer) => void;
  /** Called when the backplane becomes usable (`true`) or stops being so (`false`). */
  readonly onConnectedChange?: (connected: boolean) => void;
  /**
   * Redis confirmed the channels of these users subscribed: newly (a user's first socket), again
   * after a subscriber connection came back (`resubscribed` true) or after the channel moved to
   * another node. Messages published before may have been missed; from now on none is.
   */
  readonly onSubscribed?: (userIds: readonly string[], resubscribed: boolean) => void;
}

/** How a classic subscriber in a cluster notices that its node is gone: attempts in a row. */
const CLASSIC_NODE_ATTEMPTS = 3;

/**
 * The instance's Redis subscriber, with reference-counted user channels: a channel is subscribed
 * when the first socket of its user arrives and unsubscribed when the last one leaves. Never one
 * Redis connection per WebSocket.
 *
 * The reference counts are the single source of truth. Each channel is kept subscribed by one
 * {@link SubscriberLink} (one Redis connection) which, on every (re)connect, subscribes exactly
 * the channels that currently have a socket. How many links there are depends on the mode:
 * - standalone Redis (classic or sharded): one link;
 * - cluster, classic: one link to one master (PUBLISH is broadcast to every node), moved to
 *   another master when its node stops answering;
 * - cluster, sharded: one link per master, each channel on the master that owns its hash slot;
 *   the slot map is followed ({@link RedisClusterTopology}) and channels move when slots do.
 *
 * Connected (the instance can deliver) means: every link is connected and has every one of its
 * channels subscribed, and in a cluster the slot map is known and every master has its link.
 */
export class Backplane {
  readonly #options: BackplaneOptions;
  readonly #pubsub: PubSubMode;
  /** channel -> number of local sockets that need it. */
  readonly #refs = new Map<string, number>();
  /** Links by node (`host:port`, or the URL in standalone mode). */
  readonly #links = new Map<string, SubscriberLink>();
  readonly #topology: RedisClusterTopology | undefined;
  /** Cluster, sharded: slot -> master. */
  #owners: readonly (string | undefined)[] = [];
  /** Cluster, classic: the masters to choose from, and the one subscribed to. */
  #masters: string[] = [];
  #classicNode: string | undefined;
  #connected = false;
  #started = false;
  #closed = false;
  #resubscribes = 0;
  #subscribeFailures = 0;
  /** Cluster, classic: nodes given up on since the backplane was last connected. */
  #classicLosses = 0;

  constructor(options: BackplaneOptions) {
    this.#options = options;
    this.#pubsub = options.pubsub ?? 'classic';
    if (options.redis.mode === 'standalone') {
      const url = new URL(options.redis.url);
      this.#addLink(`${url.hostname}:${url.port || 6379}`, options.redis.url);
      return;
    }
    this.#topology = new RedisClusterTopology({
      nodes: options.redis.nodes,
      logger: options.logger,
      onChange: (owners) => this.#onSlotMap(owners),
    });
  }

  /** True when notifications can flow (see the class comment for the exact condition). */
  get connected(): boolean {
    return this.#connected;
  }

  /** Number of user channels this instance wants subscribed (users with a local socket). */
  get channelCount(): number {
    return this.#refs.size;
  }

  /** Subscriber connections kept open: 1, or one per master in a cluster with sharded pub/sub. */
  get subscriberCount(): number {
    return this.#links.size;
  }

  /** Subscriber connections that are connected with all their channels subscribed. */
  get readySubscriberCount(): number {
    let ready = 0;
    for (const link of this.#links.values()) if (link.ready) ready++;
    return ready;
  }

  /** Times a subscriber connection subscribed all its channels again after (re)connecting. */
  get resubscribes(): number {
    return this.#resubscribes;
  }

  /** (S)SUBSCRIBE commands Redis refused (each is retried until accepted). */
  get subscribeFailures(): number {
    return this.#subscribeFailures;
  }

  /**
   * Starts connecting. Resolves at once: while Redis is unreachable the backplane keeps retrying
   * in the background and {@link connected} stays false.
   */
  start(): void {
    this.#started = true;
    for (const link of this.#links.values()) link.start();
    this.#topology?.start();
  }

  /** One more local socket of `userId`: subscribes the user's channel if it is the first. */
  retain(userId: string): void {
    const channel = userChannel(userId, this.#options.channelPrefix);
    const count = this.#refs.get(channel);
    if (count === undefined) {
      this.#refs.set(channel, 1);
      // No link yet (slot map still unknown): the channel is placed when the map arrives.
      this.#linkFor(channel)?.want(channel);
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
      for (const link of this.#links.values()) link.unwant(channel);
    } else {
      this.#refs.set(channel, count - 1);
    }
  }

  /**
   * Whether the user's channel is subscribed and Redis confirmed it on the connection that
   * carries it now (so nothing published from now on is missed).
   */
  isSubscribed(userId: string): boolean {
    const channel = userChannel(userId, this.#options.channelPrefix);
    return this.#linkFor(channel)?.isConfirmed(channel) ?? false;
  }

  /** Leaves Redis cleanly (QUIT on every link), or drops connections Redis does not answer on. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#setConnected(false);
    this.#topology?.close();
    await Promise.all([...this.#links.values()].map((link) => link.close()));
  }

  /** The link that should carry `channel` right now, if the topology allows one. */
  #linkFor(channel: string): SubscriberLink | undefined {
    if (this.#topology === undefined) return this.#links.values().next().value;
    if (this.#pubsub === 'classic') {
      return this.#classicNode === undefined ? undefined : this.#links.get(this.#classicNode);
    }
    const owner = this.#owners[calculateSlot(channel)];
    return owner === undefined ? undefined : this.#links.get(owner);
  }

  #onSlotMap(owners: readonly (string | undefined)[]): void {
    if (this.#closed) return;
    this.#owners = owners;
    this.#masters = [...new Set(owners.filter((owner) => owner !== undefined))].sort();
    if (this.#pubsub === 'sharded') {
      for (const master of this.#masters) {
        if (!this.#links.has(master)) this.#addLink(master);
      }
    } else if (this.#classicNode === undefined || !this.#masters.includes(this.#classicNode)) {
      this.#pickClassicNode();
    }
    this.#placeChannels();
  }

  /** Cluster, classic: subscribe through a random master (spreads instances over nodes). */
  #pickClassicNode(avoid?: string): void {
    const choices = this.#masters.filter((master) => master !== avoid);
    const pool = choices.length > 0 ? choices : this.#masters;
    const node = pool[Math.floor(Math.random() * pool.length)];
    if (node === undefined) return;
    this.#classicNode = node;
    if (!this.#links.has(node)) this.#addLink(node);
  }

  /**
   * Puts every wanted channel on the link that should carry it, takes it off any other, and
   * closes links that no longer carry anything they should (a master that left the cluster, or
   * the classic node after a switch).
   */
  #placeChannels(): void {
    for (const channel of this.#refs.keys()) {
      const target = this.#linkFor(channel);
      if (target?.has(channel)) continue;
      // The previous owner no longer serves the slot (or the node is gone): nothing to undo there.
      for (const link of this.#links.values()) if (link !== target) link.forget(channel);
      target?.want(channel);
    }
    for (const [node, link] of this.#links) {
      const keep =
        this.#pubsub === 'sharded' ? this.#masters.includes(node) : node === this.#classicNode;
      if (keep) continue;
      this.#links.delete(node);
      this.#options.logger.info({ node }, 'redis subscriber closed: node no longer used');
      void link.close();
    }
    this.#updateConnected();
  }

  #addLink(node: string, url?: string): void {
    const cluster = this.#topology !== undefined;
    const link = new SubscriberLink({
      target: url ?? { ...this.#topology?.nodeOptions, ...hostAndPort(node) },
      node,
      pubsub: this.#pubsub,
      ...(cluster && this.#pubsub === 'sharded' ? { groupOf: calculateSlot } : {}),
      ...(cluster && this.#pubsub === 'classic'
        ? {
            maxReconnectAttempts: CLASSIC_NODE_ATTEMPTS,
            // While the whole cluster is away, each node tried in turn would warn again.
            outageReported: this.#classicLosses > 0,
            onGiveUp: () => this.#onClassicNodeLost(node),
          }
        : {}),
      logger: this.#options.logger,
      onMessage: (channel, payload) => {
        const userId = userIdFromChannel(channel.toString(), this.#options.channelPrefix);
        if (userId !== undefined) this.#options.onMessage(userId, payload);
      },
      onReadyChange: (ready) => {
        // A master that stopped answering may have been replaced (failover): ask for the map.
        if (!ready && this.#links.get(node) === link) this.#topology?.refresh();
        this.#updateConnected();
      },
      onMoved: () => this.#topology?.refresh(),
      onConfirmed: (channels, everything) => this.#onConfirmed(link, channels, everything),
      onResubscribed: () => {
        this.#resubscribes++;
      },
      onSubscribeFailed: () => {
        this.#subscribeFailures++;
      },
    });
    this.#links.set(node, link);
    if (this.#started && !this.#closed) link.start();
  }

  #onConfirmed(link: SubscriberLink, channels: readonly string[], everything: boolean): void {
    const onSubscribed = this.#options.onSubscribed;
    if (onSubscribed === undefined || this.#closed || this.#links.get(link.node) !== link) return;
    const prefix = this.#options.channelPrefix;
    const userIds: string[] = [];
    for (const channel of channels) {
      const userId = userIdFromChannel(channel, prefix);
      if (userId !== undefined) userIds.push(userId);
    }
    onSubscribed(userIds, everything);
  }

  /** Cluster, classic: the node stopped answering; move every channel to another master. */
  #onClassicNodeLost(node: string): void {
    if (this.#closed || node !== this.#classicNode) return;
    const lost = this.#links.get(node);
    this.#links.delete(node);
    void lost?.close();
    this.#classicNode = undefined;
    // One warning per outage, however many nodes are tried before one answers.
    const level = this.#classicLosses++ === 0 ? 'warn' : 'debug';
    this.#pickClassicNode(node);
    if (this.#classicNode !== undefined) {
      this.#options.logger[level](
        { from: node, to: this.#classicNode },
        'redis subscriber moved to another cluster node',
      );
    }
    this.#placeChannels();
  }

  #updateConnected(): void {
    let connected = this.#links.size > 0;
    for (const link of this.#links.values()) connected &&= link.ready;
    if (this.#topology !== undefined) {
      connected &&= this.#topology.known;
      if (this.#pubsub === 'sharded') {
        connected &&= this.#masters.length > 0 && this.#masters.every((m) => this.#links.has(m));
      }
    }
    this.#setConnected(connected && !this.#closed);
  }

  #setConnected(connected: boolean): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    if (connected) this.#classicLosses = 0;
    this.#options.onConnectedChange?.(connected);
  }
}

/** `host:port` (IPv6 hosts contain colons: the port follows the last one). */
function hostAndPort(node: string): { host: string; port: number } {
  const colon = node.lastIndexOf(':');
  return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
}
