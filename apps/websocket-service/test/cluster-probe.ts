import type { RedisClusterHandle } from '@huleedu/test-support';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';

/**
 * Looks at a test Redis Cluster from the outside: which master owns a channel, who subscribes
 * to it where, which connections a service holds on each node. One plain client per master.
 */
export class ClusterProbe {
  private constructor(
    private readonly cluster: RedisClusterHandle,
    private readonly clients: Redis[],
    private readonly ranges: ReadonlyArray<{ first: number; last: number; master: number }>,
  ) {}

  /** Connects to every master and reads the slot map (which, without failovers, stays put). */
  static async open(cluster: RedisClusterHandle): Promise<ClusterProbe> {
    const clients = cluster.urls.map((url) => new Redis(url, { maxRetriesPerRequest: 3 }));
    // A restarted master refuses commands until its client reconnects: let errors surface as
    // rejected commands instead of unhandled events.
    for (const client of clients) client.on('error', () => undefined);
    const reply = await clients[0]!.cluster('SLOTS');
    const ranges = reply.map(([first, last, owner]) => ({
      first,
      last,
      master: cluster.nodes.findIndex((node) => node.port === owner?.[1]),
    }));
    return new ClusterProbe(cluster, clients, ranges);
  }

  /** The index (in `cluster.nodes`) of the master that owns `channel`'s hash slot. */
  ownerOf(channel: string): number {
    const slot = calculateSlot(channel);
    const range = this.ranges.find((r) => slot >= r.first && slot <= r.last);
    if (range === undefined) throw new Error(`no master owns slot ${slot}`);
    return range.master;
  }

  /** A user id starting with `tag` whose channel `<prefix>:<id>` hashes to master `master`. */
  userOn(master: number, tag: string, prefix = 'ws'): string {
    for (let i = 0; i < 1000; i++) {
      const userId = `${tag}-${i}`;
      if (this.ownerOf(`${prefix}:${userId}`) === master) return userId;
    }
    throw new Error(`no user id for master ${master}`);
  }

  /** SSUBSCRIBErs of `channel`, asked of the master that owns it. */
  async shardSubscribers(channel: string): Promise<number> {
    const client = this.clients[this.ownerOf(channel)]!;
    const reply = (await client.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
    return Number(reply[1]);
  }

  /** SUBSCRIBErs of `channel` on each master (a classic subscriber sits on one node). */
  async classicSubscribers(channel: string, skip?: number): Promise<number[]> {
    return Promise.all(
      this.clients.map(async (client, index) => {
        if (index === skip) return 0;
        const reply = (await client.pubsub('NUMSUB', channel)) as [string, number];
        return Number(reply[1]);
      }),
    );
  }

  /** How many connections named `name` each master has (`skip`: a stopped node, counted 0). */
  async connectionsNamed(name: string, skip?: number): Promise<number[]> {
    return Promise.all(
      this.clients.map(async (client, index) => {
        if (index === skip) return 0;
        const list = (await client.client('LIST')) as string;
        return list.split('\n').filter((line) => line.includes(` name=${name} `)).length;
      }),
    );
  }

  /** A plain client of master `index` (for PUBLISH/SPUBLISH straight to a node). */
  client(index: number): Redis {
    const client = this.clients[index];
    if (client === undefined) throw new Error(`no master ${index} in ${this.cluster.urls}`);
    return client;
  }

  close(): void {
    for (const client of this.clients) client.disconnect();
  }
}
