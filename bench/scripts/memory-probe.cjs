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

// With a file named `allocations` in the folder: sample allocations from the start, keeping
// objects that minor and major GCs collected, so promoted garbage shows where it was allocated.
let session;
if (existsSync(join(folder, 'allocations'))) {
  const { Session } = require('node:inspector');
  session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
}

process.on('SIGUSR2', () => {
  if (session) {
    session.post('HeapProfiler.getSamplingProfile', (error, result) => {
      if (!error) {
        const file = join(folder, `${process.pid}-${Date.now()}.heapprofile`);
        require('node:fs').writeFileSync(file, JSON.stringify(result.profile));
      }
    });
  }
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
