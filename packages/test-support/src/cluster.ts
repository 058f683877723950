import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { type RedisHandle, startRedis } from './redis.js';
import { waitFor } from './wait.js';

/** One master of a cluster started by {@link startRedisCluster}. */
export interface RedisClusterNode {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The cluster bus port (node-to-node gossip), chosen free rather than port + 10000. */
  readonly busPort: number;
}

/** A running Redis Cluster of real `redis-server` processes on loopback. */
export interface RedisClusterHandle {
  /** The masters, in creation order (slots split evenly across them in this order). */
  readonly nodes: readonly RedisClusterNode[];
  /** Every node's URL: seeds for a cluster client. */
  readonly urls: readonly string[];
  /** Stops one node (SIGTERM). The cluster fails its slots once the node timeout passes. */
  stopNode(index: number): Promise<void>;
  /** Starts a stopped node again with its own cluster config, and waits for cluster_state:ok. */
  startNode(index: number): Promise<void>;
  /** Stops and starts one node, then waits until every node reports cluster_state:ok again. */
  restartNode(index: number): Promise<void>;
  /**
   * Resolves once every running node reports cluster_state:ok with all slots covered, and sees
   * every other running node without a failure flag over a connected bus link. cluster_state:ok
   * alone does not mean the bus is back: after a restart it can be ok while a node's link to the
   * restarted one is still down, and classic PUBLISH, relayed over those links, is lost meanwhile.
   */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and deletes the cluster's working directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startRedisCluster}. */
export interface StartRedisClusterOptions {
  /** Number of masters, each owning an even share of the 16384 slots (default 3, minimum 3). */
  masters?: number;
  /**
   * cluster-node-timeout in ms (default 5000): how long a silent node takes to be marked failed.
   * Short enough for failure tests, long enough not to flap on a loaded machine.
   */
  nodeTimeoutMs?: number;
  /** Extra redis-server arguments for every node. */
  args?: string[];
}

const ALL_SLOTS = 16384;

/**
 * Starts a Redis Cluster: `masters` redis-server processes with `cluster-enabled yes` on free
 * loopback ports, joined with `redis-cli --cluster create --cluster-replicas 0`, and resolves
 * once every node reports `cluster_state:ok`. No replicas: a stopped master's slots are down
 * until it comes back. Processes are killed when the test process exits.
 */
export async function startRedisCluster(
  options: StartRedisClusterOptions = {},
): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  // redis-cli --cluster create refuses fewer than 3 masters.
  if (!Number.isInteger(masters) || masters < 3) {
    throw new Error(`startRedisCluster: masters must be an integer >= 3, got ${masters}`);
  }
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 5000;
  const dir = await mkdtemp(join(tmpdir(), 'huleedu-redis-cluster-'));
  const handles: RedisHandle[] = [];
  const nodes: RedisClusterNode[] = [];
  const stopped = new Set<number>();

  const stopAll = async (): Promise<void> => {
    await Promise.all(handles.map((handle) => handle.stop()));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const busPort = await freePort();
      const nodeDir = join(dir, `node-${i}`);
      await mkdir(nodeDir);
      handles.push(
        await startRedis({
          port,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(busPort),
            // Relative to --dir: kept across restarts so the node rejoins with its id and slots.
            '--dir',
            nodeDir,
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(nodeTimeoutMs),
            ...(options.args ?? []),
          ],
        }),
      );
      nodes.push({ url: `redis://127.0.0.1:${port}`, port, busPort });
    }
    await redisCli(
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      60_000,
    );
  } catch (error) {
    await stopAll();
    throw error;
  }

  const waitUntilHealthy = async (timeoutMs = 30_000): Promise<void> => {
    await waitFor(
      async () => {
        for (const [index, node] of nodes.entries()) {
          if (stopped.has(index)) continue;
          const info = parseInfo(
            await redisCli(['-p', String(node.port), 'cluster', 'info'], 5_000),
          );
          if (
            info['cluster_state'] !== 'ok' ||
            info['cluster_slots_ok'] !== String(ALL_SLOTS) ||
            info['cluster_known_nodes'] !== String(masters)
          ) {
            throw new Error(
              `node ${index} (port ${node.port}): cluster_state:${info['cluster_state']} slots_ok:${info['cluster_slots_ok']} known_nodes:${info['cluster_known_nodes']}`,
            );
          }
          const peers = await redisCli(['-p', String(node.port), 'cluster', 'nodes'], 5_000);
          const unsettled = unsettledPeers(peers, runningPorts());
          if (unsettled.length > 0) {
            throw new Error(`node ${index} (port ${node.port}) sees ${unsettled.join(', ')}`);
          }
        }
        return true;
      },
      { timeoutMs, intervalMs: 100, message: `a healthy ${masters}-master Redis Cluster` },
    );
  };

  const runningPorts = (): Set<number> =>
    new Set(nodes.filter((_, index) => !stopped.has(index)).map((node) => node.port));

  const nodeHandle = (index: number): RedisHandle => {
    const handle = handles[index];
    if (!handle) throw new Error(`no cluster node ${index} (there are ${handles.length})`);
    return handle;
  };

  try {
    await waitUntilHealthy();
  } catch (error) {
    await stopAll();
    throw error;
  }

  const stopNode = async (index: number): Promise<void> => {
    await nodeHandle(index).stop();
    stopped.add(index);
  };
  const startNode = async (index: number): Promise<void> => {
    await nodeHandle(index).start();
    stopped.delete(index);
    await waitUntilHealthy();
  };

  return {
    nodes,
    urls: nodes.map((node) => node.url),
    waitUntilHealthy,
    stopNode,
    startNode,
    async restartNode(index) {
      await stopNode(index);
      await startNode(index);
    },
    stop: stopAll,
  };
}

/** Runs redis-cli on loopback and resolves with its stdout; rejects on failure or timeout. */
function redisCli(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'redis-cli',
      ['-h', '127.0.0.1', ...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`redis-cli ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`),
          );
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

function parseInfo(text: string): Record<string, string> {
  const info: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) info[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return info;
}

/**
 * The running peers a CLUSTER NODES reply shows as not settled: flagged `fail`/`fail?`, or whose
 * bus link is not `connected`, e.g. `127.0.0.1:7002 (master,fail? disconnected)`.
 */
function unsettledPeers(reply: string, running: ReadonlySet<number>): string[] {
  const unsettled: string[] = [];
  for (const line of reply.split(/\r?\n/)) {
    const [, address, flags, , , , , link] = line.split(' ');
    if (!address || !flags || !link) continue;
    const port = Number(/:(\d+)@/.exec(address)?.[1]);
    if (!running.has(port) || flags.includes('myself')) continue;
    if (flags.includes('fail') || link !== 'connected') {
      unsettled.push(`${address.split('@')[0]} (${flags} ${link})`);
    }
  }
  return unsettled;
}
