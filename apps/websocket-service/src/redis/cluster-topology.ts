import type { Cluster, RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import { clusterSeeds, connectCluster, OutageLog } from './connection.js';

/** Number of hash slots in a Redis Cluster. */
export const CLUSTER_SLOTS = 16384;

/** Options for {@link RedisClusterTopology}. */
export interface RedisClusterTopologyOptions {
  /** Seed node URLs; the first one's credentials and TLS apply to every node. */
  readonly nodes: readonly string[];
  readonly logger: Logger;
  /** The slot map changed: `owners[slot]` is the master's `host:port` (undefined: not served). */
  readonly onChange: (owners: readonly (string | undefined)[]) => void;
  /** How often the slot map is fetched again (it is also fetched on demand, see `refresh`). */
  readonly refreshIntervalMs?: number;
}

/** Default {@link RedisClusterTopologyOptions.refreshIntervalMs}. */
const REFRESH_INTERVAL_MS = 2000;

/**
 * Which master serves which hash slot, learned from the cluster and kept current. It uses an
 * ioredis `Cluster` only for that (seed fail-over, CLUSTER SLOTS, periodic refresh) and never
 * subscribes through it: ioredis' own subscriber group keeps per-slot channel lists that are
 * not deduplicated and drops a failed re-subscription after a failover with a debug line, so
 * the backplane keeps its own subscriber connection per master (see `redis/backplane.ts`).
 */
export class RedisClusterTopology {
  readonly #options: RedisClusterTopologyOptions;
  readonly #cluster: Cluster;
  /** Credentials and TLS for connections to any node, from the first seed. */
  readonly nodeOptions: RedisOptions;
  #fingerprint = '';
  #known = false;
  #closed = false;

  constructor(options: RedisClusterTopologyOptions) {
    this.#options = options;
    this.nodeOptions = clusterSeeds(options.nodes).nodeOptions;
    this.#cluster = connectCluster(
      options.nodes,
      { connectionName: 'huleedu-websocket-service' },
      {
        // Only CLUSTER SLOTS is ever sent; a cluster that reports cluster_state:fail (one master
        // down) still has a slot map worth following.
        enableReadyCheck: false,
        enableOfflineQueue: false,
        slotsRefreshInterval: options.refreshIntervalMs ?? REFRESH_INTERVAL_MS,
      },
    );
    this.#cluster.on('refresh', () => this.#onRefresh());
    new OutageLog(options.logger, 'redis cluster error').watch(this.#cluster, () => this.#closed);
    this.#cluster.on('node error', (error: Error, node: string) => {
      options.logger.debug({ node, err: error.message }, 'redis cluster node error');
    });
  }

  /** True once a slot map was fetched from the cluster. */
  get known(): boolean {
    return this.#known;
  }

  /** Starts discovering; retries in the background while no seed answers. */
  start(): void {
    this.#cluster.connect().catch((error: Error) => {
      this.#options.logger.debug({ err: error.message }, 'first redis cluster connection failed');
    });
  }

  /** Fetches the slot map now (after MOVED, or when a master stopped answering). */
  refresh(): void {
    if (this.#closed || this.#cluster.status !== 'ready') return;
    this.#cluster.refreshSlotsCache();
  }

  /** Stops following the cluster. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cluster.disconnect();
  }

  #onRefresh(): void {
    if (this.#closed) return;
    const owners: (string | undefined)[] = new Array(CLUSTER_SLOTS);
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) owners[slot] = this.#cluster.slots[slot]?.[0];
    // Most refreshes find nothing new: compare owner runs, not 16384 entries per listener.
    const fingerprint = runsOf(owners);
    this.#known = true;
    if (fingerprint === this.#fingerprint) return;
    this.#fingerprint = fingerprint;
    this.#options.logger.info(
      { masters: new Set(owners.filter((owner) => owner !== undefined)).size },
      'redis cluster slot map',
    );
    this.#options.onChange(owners);
  }
}

/** `first-last=owner` runs, e.g. `0-5460=10.0.0.1:6379,...`: equal iff the maps are equal. */
function runsOf(owners: readonly (string | undefined)[]): string {
  const runs: string[] = [];
  let start = 0;
  for (let slot = 1; slot <= owners.length; slot++) {
    if (slot === owners.length || owners[slot] !== owners[start]) {
      runs.push(`${start}-${slot - 1}=${owners[start] ?? ''}`);
      start = slot;
    }
  }
  return runs.join(',');
}
