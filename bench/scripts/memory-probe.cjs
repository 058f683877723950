// Preloaded into a server under test (NODE_OPTIONS="--require .../memory-probe.cjs") by
// memory-per-socket.mjs: on SIGUSR2 it runs a full garbage collection and appends one JSON line
// with process.memoryUsage() before and after it to <tmp>/memory-probe-<parent pid>/<pid>.jsonl,
// and, when that folder holds a file named `snapshots`, writes a heap snapshot there too. (The
// folder is named after the parent because the bench gives servers a fixed environment.)
'use strict';
const { appendFileSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const folder = join(tmpdir(), `memory-probe-${process.ppid}`);
const out = join(folder, `${process.pid}.jsonl`);
let taken = 0;

process.on('SIGUSR2', () => {
  const before = process.memoryUsage();
  gc();
  gc();
  const after = process.memoryUsage();
  const spaces = Object.fromEntries(
    v8
      .getHeapSpaceStatistics()
      .map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
  );
  let snapshot;
  if (existsSync(join(folder, 'snapshots'))) {
    snapshot = v8.writeHeapSnapshot(join(folder, `${process.pid}-${++taken}.heapsnapshot`));
  }
  if (existsSync(folder))
    appendFileSync(
      out,
      `${JSON.stringify({ pid: process.pid, before, after, spaces, snapshot })}\n`,
    );
});
