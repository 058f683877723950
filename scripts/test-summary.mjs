// Prints one closing line for the whole monorepo, "N passed, N failed" (", N skipped" when any),
// from the run's output and turbo's run summary. A failure is counted for:
//   - every failed test (vitest "Tests ... N failed", pytest's closing "== N failed, N passed in 3.2s ==",
//     where an error in a test's setup counts as failed);
//   - every suite that failed as a whole (vitest "Failed Suites N": a file that did not load,
//     a beforeAll that threw), since its tests were never run;
//   - every turbo task that exited non-zero without a vitest failure to show for it (a build,
//     a lint, a size check, a test runner that crashed before its summary);
//   - every step outside turbo that failed (--failed-step NAME, repeatable);
//   - a turbo run that failed without a task summary to explain it;
//   - with --floor FILE, every test task that ran fewer test files than the floor file's minimum
//     for it (its vitest "Test Files ... (N)"; a pytest task, which prints no file count, counts
//     its tests instead), a test task of the run without a minimum there
//     that ran none, and a task named there that did not run at all: a shrinking suite fails.
// So it never says "0 failed" for a run that failed. Exits 1 when anything failed.
//
// usage: node scripts/test-summary.mjs --log FILE [--turbo-runs DIR] [--turbo-exit CODE]
//                                      [--floor FILE] [--failed-step NAME]...
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, stripVTControlCharacters } from 'node:util';

const { values: options } = parseArgs({
  options: {
    log: { type: 'string' },
    'turbo-runs': { type: 'string' },
    'turbo-exit': { type: 'string', default: '0' },
    'failed-step': { type: 'string', multiple: true, default: [] },
    floor: { type: 'string' },
  },
});
if (options.log === undefined) {
  console.error('usage: node scripts/test-summary.mjs --log FILE [--turbo-runs DIR] ...');
  process.exit(2);
}

const text = stripVTControlCharacters(readFileSync(options.log, 'utf8'));

/** Per turbo task ("@huleedu/x#test"): passed, failed, skipped tests and failed suites. */
const byTask = new Map();
const counts = (task) => {
  if (!byTask.has(task)) {
    byTask.set(task, { passed: 0, failed: 0, skipped: 0, suites: 0, files: 0, pytestTests: 0 });
  }
  return byTask.get(task);
};
for (const raw of text.split('\n')) {
  // turbo prefixes a task's lines with "<package>:<task>: "
  const prefixed = /^(@?[\w./-]+):(\w[\w:-]*): (.*)$/.exec(raw);
  const task = prefixed ? `${prefixed[1]}#${prefixed[2]}` : '(unprefixed)';
  const line = prefixed ? prefixed[3] : raw;
  const tests = /^\s*Tests\s+(.*)\((\d+)\)\s*$/.exec(line);
  if (tests) {
    for (const part of tests[1].split('|')) {
      const [, count, kind] = /(\d+)\s+(passed|failed|skipped|todo)/.exec(part) ?? [];
      if (kind === undefined) continue;
      counts(task)[kind === 'todo' ? 'skipped' : kind] += Number(count);
    }
  }
  const files = /^\s*Test Files\s+.*\((\d+)\)\s*$/.exec(line);
  if (files) counts(task).files += Number(files[1]);
  // pytest's closing line: "==== 40 passed, 2 skipped in 12.3s ====" (also "1 failed", "1 error").
  const pytest =
    /^=+ (.*\d+ (?:passed|failed|skipped|errors?|xfailed|xpassed|deselected).*) in [\d.]+s(?: \([\d:]+\))? =+$/.exec(
      line.trim(),
    );
  if (pytest) {
    for (const part of pytest[1].split(', ')) {
      const [, count, kind] = /^(\d+) (\w+)$/.exec(part.trim()) ?? [];
      if (kind !== undefined) counts(task).pytestTests += Number(count);
      if (kind === 'passed' || kind === 'xpassed') counts(task).passed += Number(count);
      else if (kind === 'failed' || kind === 'error' || kind === 'errors')
        counts(task).failed += Number(count);
      else if (kind === 'skipped' || kind === 'xfailed') counts(task).skipped += Number(count);
    }
  }
  const suites = /Failed Suites (\d+)/.exec(line);
  if (suites) counts(task).suites += Number(suites[1]);
}

const failures = [];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const [task, c] of byTask) {
  passed += c.passed;
  skipped += c.skipped;
  failed += c.failed + c.suites;
  if (c.failed) failures.push(`${task}: ${c.failed} failed test(s)`);
  if (c.suites) failures.push(`${task}: ${c.suites} suite(s) failed to load or set up`);
}

const tasks = readTurboTasks(options['turbo-runs']);
for (const task of tasks) {
  if (task.exitCode === 0) continue;
  const c = byTask.get(task.id);
  if (c && c.failed + c.suites > 0) continue;
  failed += 1;
  failures.push(`${task.id}: exited ${task.exitCode ?? 'without running'}`);
}
if (options.floor !== undefined) {
  const floor = readFloor(options.floor);
  const testTasks = new Set([
    ...Object.keys(floor),
    ...tasks.map((task) => task.id).filter(isTestTask),
    ...[...byTask.keys()].filter(isTestTask),
  ]);
  for (const id of [...testTasks].sort()) {
    const task = tasks.find((t) => t.id === id);
    // A task that failed or never ran is counted above already.
    if (task !== undefined && task.exitCode !== 0) continue;
    const c = byTask.get(id);
    const ran = c === undefined ? 0 : c.files > 0 ? c.files : c.pytestTests;
    const minimum = floor[id] ?? 1;
    if (ran >= minimum) continue;
    failed += 1;
    failures.push(
      task === undefined && ran === 0
        ? `${id}: did not run (at least ${minimum} test file(s) expected, ${options.floor})`
        : `${id}: ran ${ran} ${c?.files === 0 && c.pytestTests > 0 ? 'test(s)' : 'test file(s)'}, at least ${minimum} expected (${options.floor})`,
    );
  }
}
const turboExit = Number(options['turbo-exit']);
if (turboExit !== 0 && !tasks.some((task) => task.exitCode !== 0) && failed === 0) {
  failed += 1;
  failures.push(`turbo run: exited ${turboExit} with no failed task to show for it`);
}
for (const step of options['failed-step']) {
  failed += 1;
  failures.push(`${step}: failed`);
}

const testTasks = [...byTask.keys()].filter((task) => task !== '(unprefixed)').length;
console.log(
  `\ntest tasks with a vitest or pytest summary: ${testTasks}; turbo tasks: ${tasks.length}`,
);
for (const failure of failures) console.log(`FAILED ${failure}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);

/** The tasks of turbo's newest run summary in `dir` (`turbo run --summarize`), with exit codes. */
function readTurboTasks(dir) {
  if (dir === undefined || !existsSync(dir)) return [];
  const runs = readdirSync(dir).filter((file) => file.endsWith('.json'));
  if (runs.length === 0) return [];
  const newest = runs
    .map((file) => ({ file, summary: JSON.parse(readFileSync(join(dir, file), 'utf8')) }))
    .sort((a, b) => b.summary.execution.startTime - a.summary.execution.startTime)[0];
  return newest.summary.tasks.map((task) => ({
    id: task.taskId,
    exitCode: task.execution?.exitCode ?? null,
  }));
}

/** Whether a task id is a test task: `<package>#test`, or the root's `//#test:scripts`. */
function isTestTask(id) {
  return /#test(:[\w-]+)?$/.test(id);
}

/** The floor file: `{ "<task id>": <minimum test files> }`; keys starting with `$` are notes. */
function readFloor(file) {
  const parsed = JSON.parse(readFileSync(file, 'utf8'));
  const floor = {};
  for (const [id, minimum] of Object.entries(parsed)) {
    if (id.startsWith('$')) continue;
    if (!Number.isInteger(minimum) || minimum < 1) {
      console.error(`${file}: ${id}: expected a whole number of test files >= 1, got ${minimum}`);
      process.exit(2);
    }
    floor[id] = minimum;
  }
  return floor;
}
