import { startRedisCluster, waitFor } from '@huleedu/test-support';
import { Cluster, Redis } from 'ioredis';
import { it } from 'vitest';
import { recordingSubscriber } from './subscriber.js';

it('repro', async () => {
  const cluster = await startRedisCluster({ masters: 3 });
  const log: string[] = [];
  try {
    for (let round = 0; round < 4; round++) {
      await cluster.stopNode(2);
      await new Promise((r) => setTimeout(r, 5000));
      await cluster.startNode(2);
      const t0 = Date.now();
      await cluster.waitUntilHealthy();
      const perNode = await Promise.all(cluster.urls.map((url) => recordingSubscriber(url)));
      const client = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
      for (const s of perNode) await s.subscribe('ws:x');
      const counts: number[] = [];
      const first = await client.publish('ws:x', 'm');
      counts.push(first);
      let n = 0;
      try {
        await waitFor(
          async () =>
            perNode.every((s) => s.messages.length > 0) ||
            void counts.push(await client.publish('ws:x', 'm' + ++n)),
          { intervalMs: 250, timeoutMs: 30000 },
        );
      } catch (e) {
        log.push('TIMEOUT');
      }
      const links = await Promise.all(
        cluster.urls.map(async (u) => {
          const r = new Redis(u);
          const s = await r.cluster('NODES');
          r.disconnect();
          return (s as string)
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split(' ').slice(2, 3).concat(l.split(' ').slice(7, 8)).join('/'))
            .join(',');
        }),
      );
      log.push(
        `round ${round}: first=${first} publishes=${counts.length} ms=${Date.now() - t0} perNode=${perNode.map((s) => s.messages.length)} links=${links.join(' | ')}`,
      );
      client.disconnect();
      for (const s of perNode) await s.close();
    }
  } finally {
    console.log(log.join('\n'));
    await cluster.stop();
  }
}, 300_000);
