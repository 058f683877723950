// Server CPU per connect, two service builds (and a baseline) side by side in short alternating
// rounds: every target runs at once, and each round opens and closes every socket of one target
// after the other, in an order that rotates. Background load drifts slowly on a shared machine;
// alternating rounds put each build under the same drift, so the medians compare the builds and
// not the minutes they ran in. `pnpm bench`'s connect rounds measure one target after the other.
//   node bench/scripts/connect-ab.mjs --a <main.js> [--b <main.js>] [--targets a,b,relay-durable]
//     [--sockets 4000] [--rounds 8] [--history on[,off]] [--publish 1]            (after pnpm build)
// --join: each round first opens one tab per user (not measured), then measures a second tab per
// user joining it (--sockets users, each with two tabs). --a/--b: the service entry points to compare (default: the built one); --history: a's
// WEBSOCKET_HISTORY, then b's (one value: both); --profile DIR: a .cpuprofile of the first target
// into DIR; --publish N: durable
// publishes per user before the rounds, so every history read finds a history, as in the bench.
import { parseArgs } from 'node:util';
import { startRedis } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { loopbackAddresses } from '../dist/config.js';
import { startLoadgen } from '../dist/loadgen.js';
import { benchUserId } from '../dist/message.js';
import { builtServiceEntry } from '../dist/paths.js';
import { loadPublishScript } from '../dist/publish-script.js';
import { waitForQuietCpu } from '../dist/settle.js';
import { startTarget } from '../dist/targets.js';

const { values } = parseArgs({
  options: {
    a: { type: 'string', default: '' },
    b: { type: 'string', default: '' },
    targets: { type: 'string', default: 'a,b,relay-durable' },
    sockets: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '8' },
    history: { type: 'string', default: 'on' },
    publish: { type: 'string', default: '1' },
    profile: { type: 'string', default: '' },
    join: { type: 'boolean', default: false },
  },
});
const sockets = Number(values.sockets);
const rounds = Number(values.rounds);
const users = sockets / 2;
const secret = 'connect-ab-secret-0123456789abcdef';
const names = values.targets.split(',');
// `--history on,off`: a's setting, then b's (one value: both).
const [historyA, historyB = historyA] = values.history.split(',');
const historyOf = { a: historyA, b: historyB };
const median = (list) => {
  const sorted = [...list].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const redis = await startRedis();
const running = [];
try {
  if (Number(values.publish) > 0) {
    const client = new Redis(redis.url);
    const script = await loadPublishScript(client);
    for (let n = 0; n < Number(values.publish); n++) {
      const pipeline = client.pipeline();
      for (let user = 0; user < users; user++) {
        script.append(pipeline, benchUserId(user), JSON.stringify({ event: 'warm', data: { n } }));
      }
      await pipeline.exec();
    }
    client.disconnect();
  }
  // Each (target, round) connects from its own loopback address: no TIME_WAIT port reuse.
  const addresses = loopbackAddresses(names.length * rounds + 2).slice(1);
  for (const [index, name] of names.entries()) {
    const service = name === 'a' || name === 'b';
    const target = await startTarget(service ? 'service-history' : name, {
      redisUrl: redis.url,
      secret,
      maxConnectionsPerUser: 5,
      serviceEntry: service ? values[name] || builtServiceEntry() : '',
      ...(service ? { history: historyOf[name] } : {}),
      ...(values.profile && index === 0 ? { profileDir: values.profile } : {}),
    });
    const loadgenFor = (tabs, count) =>
      startLoadgen({
        protocol: 'ws',
        url: target.url,
        secret,
        users: count,
        tabs,
        processes: 2,
        sourceAddresses: [addresses[index * rounds]],
        concurrency: 32,
        connectTimeoutMs: 30_000,
      });
    // --join: every user's first tab opens unmeasured, then the measured second tabs join them.
    const first = values.join ? await loadgenFor(1, sockets) : undefined;
    const loadgen = await loadgenFor(values.join ? 1 : 2, values.join ? sockets : users);
    running.push({ name, target, first, loadgen, perConnectUs: [] });
  }
  for (let round = 0; round < rounds; round++) {
    const order = running.map((_, i) => running[(i + round) % running.length]);
    for (const entry of order) {
      const index = running.indexOf(entry);
      await entry.first?.connect(1, [addresses[index * rounds + round]]);
      await waitForQuietCpu(() => entry.target.cpuSeconds(), 1000);
      const before = entry.target.cpuSeconds();
      const summary = await entry.loadgen.connect(1, [addresses[index * rounds + round]]);
      const cpu = entry.target.cpuSeconds() - before;
      entry.perConnectUs.push((cpu / summary.openedNow) * 1e6);
      await entry.loadgen.disconnect(30_000);
      await entry.first?.disconnect(30_000);
    }
    console.log(
      `round ${round + 1}/${rounds}: ` +
        running.map((e) => `${e.name} ${e.perConnectUs.at(-1).toFixed(0)} µs`).join(', '),
    );
  }
  console.log(`\nserver CPU per connect, median of ${rounds} rounds of ${sockets} sockets:`);
  for (const entry of running) {
    const m = median(entry.perConnectUs);
    const ratios = running
      .filter((other) => other !== entry)
      .map(
        (other) => `${(median(other.perConnectUs) / m).toFixed(2)}x ${other.name}/${entry.name}`,
      );
    console.log(
      `  ${entry.name.padEnd(16)} ${m.toFixed(1).padStart(7)} µs  (${(1e6 / m).toFixed(0)} connects per CPU-second; ${ratios.join(', ')})`,
    );
  }
} finally {
  for (const entry of running) {
    await entry.loadgen.close().catch(() => undefined);
    await entry.first?.close().catch(() => undefined);
    await entry.target.stop().catch(() => undefined);
  }
  await redis.stop();
}
