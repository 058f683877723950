// Fixed-rate latency of two service builds (and a baseline) in short alternating rounds, as
// `pnpm bench` measures each service setting against its baseline (bench/src/paired-rate.ts):
// every target runs at once with all its sockets open, each on its own Redis, and each round
// publishes at the fixed rate to one target after the other, in an order that rotates.
//   node bench/scripts/rate-ab.mjs [--a <main.js>] [--b <main.js>] [--targets a,b,relay-durable]
//     [--history on[,off]] [--flags-a=--max-semi-space-size=16] [--flags-b=...]
//     [--users 5000] [--rate 5000] [--seconds 5] [--rounds 8] [--bursts 0] [--plain]
// --a/--b: the service entry points to compare (default: the built one); --history: a's
// WEBSOCKET_HISTORY, then b's (one value: both); --flags-a=/--flags-b=: Node/V8 flags on that
// service's command line, e.g. --flags-b=--single-threaded-gc (the baseline gets none); --bursts N: before the rounds, N bursts of --burst-size
// messages to each target, as `pnpm bench` runs before its fixed rate (deliveries per server
// CPU-second printed). Service targets are fed durable publishes (the `service-history` target),
// or with --plain plain PUBLISH (`service-default`; compare with --targets a,b,relay);
// each one's /metrics is read around its rounds: garbage collections by kind, and their time.
import { parseArgs } from 'node:util';
import { loopbackAddresses } from '../dist/config.js';
import { fixedRateRound, medianOfRatios, startRateSide } from '../dist/paired-rate.js';
import { builtServiceEntry } from '../dist/paths.js';
import { medianOfKnown as median } from '../dist/rounds.js';
import { publishAndMeasure } from '../dist/scenario.js';
import { waitForQuietCpu } from '../dist/settle.js';

const { values } = parseArgs({
  options: {
    a: { type: 'string', default: '' },
    b: { type: 'string', default: '' },
    targets: { type: 'string', default: 'a,b,relay-durable' },
    history: { type: 'string', default: 'on' },
    'flags-a': { type: 'string', default: '' },
    'flags-b': { type: 'string', default: '' },
    users: { type: 'string', default: '5000' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '8' },
    bursts: { type: 'string', default: '0' },
    'burst-size': { type: 'string', default: '50000' },
    plain: { type: 'boolean', default: false },
  },
});
const tabs = 2;
const names = values.targets.split(',');
const [historyA, historyB = historyA] = values.history.split(',');
const settings = {
  a: { history: historyA, flags: values['flags-a'] },
  b: { history: historyB, flags: values['flags-b'] },
};
const round = {
  rate: Number(values.rate),
  durationMs: Number(values.seconds) * 1000,
  tabs,
  stallMs: 5000,
};

/** Garbage collections so far, by kind: count and seconds (prom-client's default metrics). */
async function gcTotals(side) {
  if (!side.service) return {};
  const text = await (await fetch(`http://127.0.0.1:${side.target.port}/metrics`)).text();
  const totals = {};
  for (const line of text.split('\n')) {
    const match = /^nodejs_gc_duration_seconds_(count|sum)\{kind="(\w+)"\} ([\d.e+-]+)/.exec(line);
    if (!match) continue;
    totals[match[2]] ??= { count: 0, seconds: 0 };
    totals[match[2]][match[1] === 'count' ? 'count' : 'seconds'] += Number(match[3]);
  }
  return totals;
}

function gcDelta(after, before) {
  return Object.entries(after)
    .map(([kind, t]) => {
      const count = t.count - (before[kind]?.count ?? 0);
      const ms = (t.seconds - (before[kind]?.seconds ?? 0)) * 1000;
      return count > 0 ? `${kind} ${count}x/${ms.toFixed(0)}ms` : '';
    })
    .filter(Boolean)
    .join(' ');
}

const sides = [];
try {
  const addresses = loopbackAddresses(names.length + 2).slice(1);
  for (const [index, name] of names.entries()) {
    const service = name === 'a' || name === 'b';
    const side = await startRateSide({
      name,
      kind: service ? (values.plain ? 'service-default' : 'service-history') : name,
      secret: 'rate-ab-secret-0123456789abcdefgh',
      users: Number(values.users),
      tabs,
      processes: 2,
      sourceAddresses: [addresses[index]],
      concurrency: 64,
      connectTimeoutMs: 30_000,
      maxConnectionsPerUser: 5,
      serviceEntry: service ? values[name] || builtServiceEntry() : '',
      ...(service
        ? {
            history: settings[name].history,
            execArgv: settings[name].flags.split(/\s+/).filter(Boolean),
          }
        : {}),
    });
    sides.push(Object.assign(side, { service }));
  }
  for (let n = 0; n < Number(values.bursts); n++) {
    const line = [];
    for (const side of sides) {
      await waitForQuietCpu(() => side.target.cpuSeconds(), 1000);
      const burst = await publishAndMeasure(
        side.target,
        side.loadgen,
        tabs,
        5000,
        () => side.publisher.burst(Number(values['burst-size']), side.users),
        {},
      );
      line.push(`${side.name} ${Math.round(burst.delivered / burst.cpuSeconds)} per CPU-s`);
    }
    console.log(`burst ${n + 1}: ${line.join(' | ')}`);
  }
  for (const side of sides) await fixedRateRound(side, round); // warm-up, not counted
  const rounds = Number(values.rounds);
  for (let n = 0; n < rounds; n++) {
    const line = [];
    for (let i = 0; i < sides.length; i++) {
      const side = sides[(i + n) % sides.length];
      const before = await gcTotals(side);
      const s = await fixedRateRound(side, round);
      const gc = gcDelta(await gcTotals(side), before);
      side.p50Ms.push(s.p50Ms);
      side.p99Ms.push(s.p99Ms);
      line.push(
        `${side.name} p50 ${s.p50Ms.toFixed(2)} p99 ${s.p99Ms.toFixed(2)} max ${s.maxMs.toFixed(1)} lost ${s.lost}${gc ? ` [${gc}]` : ''}`,
      );
    }
    console.log(`round ${n + 1}/${rounds}: ${line.join(' | ')}`);
  }
  console.log(
    `\nfixed rate ${values.rate} msg/s x ${tabs} tabs, ${values.users} users, medians of ${rounds} rounds of ${values.seconds} s:`,
  );
  // Against the last target: the ratio of the medians, and the median of the rounds' own ratios.
  const base = sides.at(-1);
  for (const side of sides) {
    console.log(
      `  ${side.name.padEnd(14)} p50 ${median(side.p50Ms).toFixed(2)} ms, p99 ${median(side.p99Ms).toFixed(2)} ms (${(median(side.p99Ms) / median(base.p99Ms)).toFixed(2)}x ${base.name}; median of the rounds' ratios ${medianOfRatios(side.p99Ms, base.p99Ms).toFixed(2)}x)`,
    );
  }
} finally {
  for (const side of sides) await side.close();
}
