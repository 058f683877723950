// Memory per idle socket, live vs garbage, for each server started the way `pnpm bench` starts
// it. For every target: start it with memory-probe.cjs preloaded, open half the sockets, sample,
// open the rest, sample. A sample reads RSS as the bench does (no GC), then forces a full GC and
// reads RSS and the V8 heap again; with --snapshots it also writes a heap snapshot at each
// sample and prints the per-constructor growth per socket between the two halves.
//   node bench/scripts/memory-per-socket.mjs [--targets service,relay] [--sockets 10000]
//     [--snapshots [--top 25] [--keep]] [--spaces] [--settle 2]                          (after pnpm build)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedis } from '@huleedu/test-support';
import { loopbackAddresses } from '../dist/config.js';
import { startLoadgen } from '../dist/loadgen.js';
import { builtServiceEntry } from '../dist/paths.js';
import { treeRssBytes } from '../dist/proc.js';
import { startTarget } from '../dist/targets.js';

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: 'service,relay' },
    sockets: { type: 'string', default: '10000' },
    snapshots: { type: 'boolean', default: false },
    settle: { type: 'string', default: '2' },
    top: { type: 'string', default: '25' },
    keep: { type: 'boolean', default: false },
    spaces: { type: 'boolean', default: false },
    allocations: { type: 'boolean', default: false },
  },
});
const sockets = Number(values.sockets);
const settleMs = Number(values.settle) * 1000;
// At least 32 bytes: the service refuses a shorter HMAC secret.
const secret = 'memory-per-socket-secret-0123456789';
// memory-probe.cjs writes into this folder (named after this process, the servers' parent).
const work = join(tmpdir(), `memory-probe-${process.pid}`);
mkdirSync(work, { recursive: true });
if (values.snapshots) writeFileSync(join(work, 'snapshots'), '');
if (values.allocations) writeFileSync(join(work, 'allocations'), '');
const probe = new URL('./memory-probe.cjs', import.meta.url).pathname;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const kib = (bytes) => (bytes / 1024).toFixed(2);

/** Asks every process of the target's tree for a sample; resolves with the lines they wrote. */
async function sample(target) {
  const out = join(work, `${target.pid()}.jsonl`);
  const rssNoGc = treeRssBytes(target.pid());
  const lines = () => {
    try {
      return readFileSync(out, 'utf8').trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const seen = lines().length;
  process.kill(target.pid(), 'SIGUSR2');
  for (let i = 0; i < 300 && lines().length === seen; i++) await sleep(100);
  await sleep(200);
  const [line] = lines()
    .slice(seen)
    .map((text) => JSON.parse(text));
  return { rssNoGc, rss: treeRssBytes(target.pid()), ...line };
}

/** Self size and count per (type, constructor) of a heap snapshot. */
function summarize(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const { nodes, strings } = snapshot;
  const totals = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const grouped = ['string', 'concatenated string', 'sliced string', 'number', 'code'].includes(
      type,
    );
    const key = grouped ? `(${type})` : `${type}:${strings[nodes[i + nameAt]].slice(0, 60)}`;
    const entry = totals.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += nodes[i + sizeAt];
    totals.set(key, entry);
  }
  return totals;
}

function printGrowth(label, from, to, perSockets) {
  const a = summarize(from);
  const b = summarize(to);
  const rows = [];
  for (const [key, entry] of b) {
    const base = a.get(key) ?? { count: 0, size: 0 };
    rows.push({ key, count: entry.count - base.count, size: entry.size - base.size });
  }
  for (const [key, entry] of a)
    if (!b.has(key)) rows.push({ key, count: -entry.count, size: -entry.size });
  rows.sort((x, y) => y.size - x.size);
  const total = rows.reduce((sum, r) => sum + r.size, 0);
  console.log(`\n${label}: heap snapshot growth per socket, ${kib(total / perSockets)} KiB in all`);
  console.log('   bytes  objects  (type:constructor)');
  for (const r of rows.slice(0, Number(values.top))) {
    console.log(
      `${(r.size / perSockets).toFixed(0).padStart(8)} ${(r.count / perSockets).toFixed(2).padStart(8)}  ${r.key}`,
    );
  }
}

const redis = await startRedis();
try {
  for (const [index, kind] of values.targets.split(',').entries()) {
    const shipped = process.env.NODE_OPTIONS ?? '';
    process.env.NODE_OPTIONS = `${shipped} --require ${probe}`.trim();
    const target = await startTarget(kind, {
      redisUrl: redis.url,
      secret,
      maxConnectionsPerUser: 5,
      serviceEntry: builtServiceEntry(),
    });
    process.env.NODE_OPTIONS = shipped;
    let loadgen;
    try {
      await sleep(settleMs);
      const base = await sample(target);
      loadgen = await startLoadgen({
        protocol: 'ws',
        url: target.url,
        secret,
        users: sockets / 2,
        tabs: 2,
        processes: 2,
        sourceAddresses: loopbackAddresses(index + 2).slice(index + 1),
        concurrency: 64,
        connectTimeoutMs: 30_000,
      });
      const half = await loadgen.connect(0.5);
      await sleep(settleMs);
      const mid = await sample(target);
      const full = await loadgen.connect(1);
      await sleep(settleMs);
      const end = await sample(target);
      const n = full.opened;
      const m = full.opened - half.opened;
      const row = (name, pick) =>
        `  ${name.padEnd(34)} ${kib((pick(end) - pick(base)) / n).padStart(8)} ${kib((pick(end) - pick(mid)) / m).padStart(10)}`;
      console.log(
        `\n${kind}: ${n} sockets open (${half.opened} at the middle sample); KiB per socket`,
      );
      console.log(`  ${''.padEnd(34)} ${'average'.padStart(8)} ${'marginal'.padStart(10)}`);
      console.log(row('RSS, no GC (what pnpm bench reads)', (s) => s.rssNoGc));
      console.log(row('RSS after full GC', (s) => s.rss));
      console.log(row('V8 heap used before GC', (s) => s.before.heapUsed));
      console.log(row('V8 heap used after GC (live)', (s) => s.after.heapUsed));
      console.log(row('V8 heap reserved before GC', (s) => s.before.heapTotal));
      console.log(row('V8 heap reserved after GC', (s) => s.after.heapTotal));
      console.log(row('external (Buffers etc.)', (s) => s.after.external));
      console.log(row('new space size before GC', (s) => s.spaces.new_space?.size ?? 0));
      console.log(
        `  new space at the end: ${kib(end.spaces.new_space?.size ?? 0)} KiB reserved; RSS total ${(end.rssNoGc / 2 ** 20).toFixed(1)} MiB`,
      );
      if (values.spaces) {
        const mib = (bytes) => (bytes / 2 ** 20).toFixed(1).padStart(7);
        const names = Object.keys(end.spaces);
        console.log(
          '  growth in MiB (base->middle, middle->end), committed size / used, before GC:',
        );
        for (const name of names) {
          const at = (s, key) => s.spaces[name]?.[key] ?? 0;
          console.log(
            `  ${name.padEnd(26)} ${mib(at(mid, 'size') - at(base, 'size'))} ${mib(at(end, 'size') - at(mid, 'size'))}   ${mib(at(mid, 'used') - at(base, 'used'))} ${mib(at(end, 'used') - at(mid, 'used'))}`,
          );
        }
        const native = (s) => s.rssNoGc - s.before.heapTotal;
        console.log(
          `  ${'RSS - V8 heap (native)'.padEnd(26)} ${mib(native(mid) - native(base))} ${mib(native(end) - native(mid))}`,
        );
      }
      if (values.snapshots) printGrowth(kind, mid.snapshot, end.snapshot, m);
    } finally {
      await loadgen?.close().catch(() => undefined);
      await target.stop();
    }
  }
} finally {
  await redis.stop();
  if (values.keep) console.log(`\nsamples and snapshots kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
