import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveChildren } from '../src/children.js';
import { waitForDeliveries } from '../src/drain.js';
import { parseBenchConfig, runBench, type TargetKind, writeReport } from '../src/index.js';
import { startLoadgen } from '../src/loadgen.js';
import { createPublisher } from '../src/publisher.js';
import { waitForChannelSubscribers, waitForPatternSubscriber } from '../src/readiness.js';
import { summarizeConnect } from '../src/rounds.js';
import { startTarget } from '../src/targets.js';

// The further connect rounds close every socket from the client side and open them all again:
// the server must really let go of the old connections and take the new ones (from the round's
// own source address), for the plain WebSocket targets and for Socket.IO.
// An unbuilt service fails the test (pnpm build first).
const kinds: TargetKind[] = ['service', 'relay', 'socketio'];
const secret = 'connect-rounds-test-secret-0123456789abcdef';

/** `7F000003` style hex of /proc/net/tcp -> `127.0.0.3`. */
function ipv4(hex: string): string {
  const bytes = hex.match(/../g)!.map((byte) => Number.parseInt(byte, 16));
  return bytes.reverse().join('.');
}

/** Source addresses of the established connections the server on `port` holds, per address. */
function serverConnections(port: number): Record<string, number> {
  const byAddress: Record<string, number> = {};
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (!local || !remote || state !== '01') continue; // 01: ESTABLISHED
    if (Number.parseInt(local.split(':')[1]!, 16) !== port) continue;
    const address = ipv4(remote.split(':')[0]!);
    byAddress[address] = (byAddress[address] ?? 0) + 1;
  }
  return byAddress;
}

let redis: RedisHandle;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describe.each(kinds)('a connect round against %s', (kind) => {
  it('closes every socket from the client side, then opens them all again from new addresses', {
    timeout: 60_000,
  }, async () => {
    const users = 20;
    const target = await startTarget(kind, {
      redisUrl: redis.url,
      secret,
      maxConnectionsPerUser: 2,
      serviceEntry: '',
    });
    const loadgen = await startLoadgen({
      protocol: target.profile.protocol,
      url: target.url,
      secret,
      users,
      tabs: 2,
      processes: 2,
      sourceAddresses: ['127.0.0.2'],
      concurrency: 8,
      connectTimeoutMs: 10_000,
    });
    const publisher = createPublisher(target.profile.publish, redis.url);
    try {
      const first = await loadgen.connect();
      expect([first.opened, first.failed]).toEqual([40, 0]);
      await waitFor(() => serverConnections(target.port)['127.0.0.2'] === 40);

      expect(await loadgen.disconnect(5000)).toEqual({ closed: 40, dropped: 0 });
      expect((await loadgen.counts()).open).toBe(0);
      // Gone on the server's side too (the service's limit of 2 sockets per user would refuse
      // the next round's otherwise).
      await waitFor(() => Object.keys(serverConnections(target.port)).length === 0, {
        timeoutMs: 5000,
        message: 'the server to close every connection',
      });

      const again = await loadgen.connect(0.5, ['127.0.0.3']);
      const all = await loadgen.connect(1);
      expect([again.openedNow, all.openedNow, all.opened, all.failed]).toEqual([20, 20, 40, 0]);
      expect(all.incompleteUsers.size).toBe(0);
      await waitFor(() => serverConnections(target.port)['127.0.0.3'] === 40);
      expect(serverConnections(target.port)['127.0.0.2']).toBeUndefined();
      // Closing was the clients' doing: no close counts as one the server caused.
      expect((await loadgen.stats()).closes).toEqual({});

      // And the reopened sockets are live: every user gets what is published to them.
      const everyone = Array.from({ length: users }, (_, user) => user);
      const ready =
        target.profile.subscription === 'channels'
          ? await waitForChannelSubscribers(client, everyone, 10_000)
          : await waitForPatternSubscriber(client, 10_000);
      expect(ready.ready).toBe(true);
      await loadgen.reset();
      await publisher.burst(users, everyone);
      const drained = await waitForDeliveries(() => loadgen.counts(), 2 * users, 5000);
      expect(drained.counts.delivered).toBe(2 * users);
    } finally {
      await loadgen.close();
      await publisher.close();
      await target.stop();
    }
  });
});

describe('pnpm bench with two connect rounds', () => {
  const out = mkdtempSync(join(tmpdir(), 'huleedu-bench-connect-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('reports both rounds, their median, and every socket open again after the second', {
    timeout: 180_000,
  }, async () => {
    // 400 sockets: enough handshakes for each round's server CPU to register in /proc ticks.
    const config = parseBenchConfig(
      [
        ...['--targets', kinds.join(','), '--users', '200', '--tabs', '2', '--processes', '2'],
        ...['--connect-rounds', '2', '--burst', '400', '--burst-rounds', '1', '--rate', '0'],
        ...['--settle', '0.2', '--out', out, '--docs', ''],
        ...['--publish-messages', '0', '--memory-entries', ''],
      ],
      {},
    );
    const report = await runBench(config, { command: 'pnpm bench (connect rounds test)' });

    expect(report.config.connectRounds).toBe(2);
    for (const result of report.results) {
      const rounds = result.connect.rounds!;
      expect(rounds, result.label).toHaveLength(2);
      for (const round of rounds) {
        expect([round.opened, round.failed], result.label).toEqual([400, 0]);
        expect(round.cpuSeconds, result.label).toBeGreaterThan(0);
        expect(round.perCpuSecond, result.label).toBeCloseTo(round.opened / round.cpuSeconds);
        expect(round.durationMs, result.label).toBeGreaterThan(0);
        expect(round.perSecond, result.label).toBeGreaterThan(0);
      }
      // The headline figures are the medians; the first round stays the memory's reference.
      expect(result.connect.perCpuSecond).toBe(summarizeConnect(rounds).perCpuSecond);
      expect(result.connect.perSecond).toBe(summarizeConnect(rounds).perSecond);
      expect(result.connect.cpuSeconds).toBe(rounds[0]!.cpuSeconds);
      expect(result.connect.opened).toBe(400);
      expect(result.burst!.lost, result.label).toBe(0);
      expect(result.unexpectedCloses, result.label).toEqual({});
      // Both rounds are in the connect phase of a profile: 800 sockets opened in four halves.
      const connects = result.windows.filter((w) => w.name === 'connect');
      expect(connects.map((w) => w.units)).toEqual([200, 200, 200, 200]);
    }
    expect(liveChildren()).toBe(0);

    const docs = join(out, 'benchmarks.md');
    writeFileSync(docs, '<!-- bench:latest:start -->\n<!-- bench:latest:end -->\n');
    writeReport(report, out, docs);
    const text = readFileSync(docs, 'utf8');
    expect(text).toContain('every socket opened in 2 connect round(s)');
    expect(text).toContain('| rounds | connects per server CPU-second |');
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(json.results[0].connect.rounds).toHaveLength(2);
  });
});
