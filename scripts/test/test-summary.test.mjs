// The closing line of `bash scripts/test.sh`: it must count every kind of failure, so that it
// never says "0 failed" for a run that failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-summary.mjs');
const dirs = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the summary over `log` and a turbo run summary listing `tasks` ({ id: exitCode }), with
 * `floor` ({ id: minimum test files }) as the floor file when given.
 */
function summarise(log, tasks, extra = [], floor = undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'test-summary-'));
  dirs.push(dir);
  if (floor !== undefined) {
    writeFileSync(join(dir, 'floor.json'), JSON.stringify({ $comment: 'a note', ...floor }));
    extra = [...extra, '--floor', join(dir, 'floor.json')];
  }
  writeFileSync(join(dir, 'output.log'), log);
  const runs = join(dir, 'runs');
  mkdirSync(runs);
  if (tasks !== undefined) {
    const summary = {
      execution: { startTime: 1 },
      tasks: Object.entries(tasks).map(([taskId, exitCode]) => ({
        taskId,
        execution: exitCode === null ? null : { exitCode },
      })),
    };
    writeFileSync(join(runs, 'run.json'), JSON.stringify(summary));
  }
  const result = spawnSync(
    process.execPath,
    [script, '--log', join(dir, 'output.log'), '--turbo-runs', runs, ...extra],
    { encoding: 'utf8' },
  );
  const lines = result.stdout.trim().split('\n');
  return { status: result.status, closing: lines.at(-1), output: result.stdout };
}

const passing = [
  '@huleedu/auth:test:       Tests  10 passed (10)',
  '@huleedu/notify:test:       Tests  100 passed | 2 skipped (102)',
].join('\n');

describe('scripts/test-summary.mjs', () => {
  it('sums passed and skipped tests over every package of a green run', () => {
    const run = summarise(passing, { '@huleedu/auth#test': 0, '@huleedu/notify#test': 0 });
    expect(run.closing).toBe('110 passed, 0 failed, 2 skipped');
    expect(run.status).toBe(0);
  });

  it('counts failed tests', () => {
    const log = `${passing}\n@huleedu/ws-client:test:       Tests  3 failed | 7 passed (10)`;
    const run = summarise(log, { '@huleedu/ws-client#test': 1 });
    expect(run.closing).toBe('117 passed, 3 failed, 2 skipped');
    expect(run.status).toBe(1);
  });

  it('counts a suite that failed to load, although vitest reports its tests as skipped', () => {
    const log = [
      passing,
      '@huleedu/websocket-service:test: \u001b[31m⎯⎯⎯\u001b[39m\u001b[1m\u001b[41m Failed Suites 1 \u001b[49m⎯⎯⎯',
      '@huleedu/websocket-service:test:  Test Files  1 failed | 24 passed (25)',
      '@huleedu/websocket-service:test:       Tests  145 passed | 4 skipped (149)',
    ].join('\n');
    const run = summarise(log, { '@huleedu/websocket-service#test': 1 });
    expect(run.closing).toBe('255 passed, 1 failed, 6 skipped');
    expect(run.output).toContain('@huleedu/websocket-service#test: 1 suite(s) failed');
    expect(run.status).toBe(1);
  });

  it('counts a task that failed outside vitest (a lint, a build, a size check)', () => {
    const run = summarise(passing, {
      '@huleedu/auth#lint': 1,
      '@huleedu/auth#test': 0,
      '@huleedu/ws-client#test': 1,
    });
    expect(run.closing).toBe('110 passed, 2 failed, 2 skipped');
    expect(run.output).toContain('FAILED @huleedu/auth#lint: exited 1');
    expect(run.output).toContain('FAILED @huleedu/ws-client#test: exited 1');
  });

  it('counts a failed turbo run that left no task summary, and failed steps outside turbo', () => {
    const run = summarise(passing, undefined, [
      '--turbo-exit',
      '1',
      '--failed-step',
      'biome ci (root files)',
    ]);
    expect(run.closing).toBe('110 passed, 2 failed, 2 skipped');
    expect(run.status).toBe(1);
  });

  it('counts pytest’s closing line, and a pytest run that found no tests (exit 5) as a failure', () => {
    const log = [
      passing,
      '@huleedu/notify-python:test: ======== 2 failed, 40 passed, 3 skipped, 1 error in 31.52s ========',
    ].join('\n');
    const run = summarise(log, { '@huleedu/notify-python#test': 1 });
    expect(run.closing).toBe('150 passed, 3 failed, 5 skipped');
    const empty = summarise(
      `${passing}\n@huleedu/notify-python:test: ===== no tests ran in 0.01s =====`,
      {
        '@huleedu/notify-python#test': 5,
      },
    );
    expect(empty.closing).toBe('110 passed, 1 failed, 2 skipped');
    expect(empty.output).toContain('FAILED @huleedu/notify-python#test: exited 5');
  });

  it('counts a task that exited without running (turbo recorded no exit code)', () => {
    const run = summarise(passing, {
      '@huleedu/auth#test': 0,
      '@huleedu/notify#test': 0,
      '@huleedu/ws-client#build': 1,
      '@huleedu/ws-client#test': null,
    });
    expect(run.output).toContain('FAILED @huleedu/ws-client#test: exited without running');
    expect(run.closing).toBe('110 passed, 2 failed, 2 skipped');
    expect(run.status).toBe(1);
  });
});

describe('scripts/test-summary.mjs --floor', () => {
  const files = [
    '@huleedu/auth:test:  Test Files  1 passed (1)',
    '@huleedu/auth:test:       Tests  10 passed (10)',
    '@huleedu/notify:test:  Test Files  16 passed | 1 skipped (17)',
    '@huleedu/notify:test:       Tests  100 passed | 2 skipped (102)',
  ].join('\n');
  const green = { '@huleedu/auth#test': 0, '@huleedu/notify#test': 0, '@huleedu/auth#lint': 0 };

  it('passes a run in which every test task ran at least its floor of test files', () => {
    const run = summarise(files, green, [], {
      '@huleedu/auth#test': 1,
      '@huleedu/notify#test': 17,
    });
    expect(run.closing).toBe('110 passed, 0 failed, 2 skipped');
    expect(run.status).toBe(0);
  });

  it('fails a test task that ran fewer test files than its floor', () => {
    const run = summarise(files, green, [], { '@huleedu/notify#test': 18 });
    expect(run.output).toContain(
      'FAILED @huleedu/notify#test: ran 17 test file(s), at least 18 expected',
    );
    expect(run.closing).toBe('110 passed, 1 failed, 2 skipped');
    expect(run.status).toBe(1);
  });

  it('fails a test task without a floor that ran no test file, and a floor task that never ran', () => {
    const run = summarise(files, { ...green, '@huleedu/ws-protocol#test': 0 }, [], {
      '@huleedu/ws-client#test': 18,
    });
    expect(run.output).toContain(
      'FAILED @huleedu/ws-protocol#test: ran 0 test file(s), at least 1 expected',
    );
    expect(run.output).toContain(
      'FAILED @huleedu/ws-client#test: did not run (at least 18 test file(s) expected',
    );
    expect(run.closing).toBe('110 passed, 2 failed, 2 skipped');
  });

  it('does not count a failed test task twice', () => {
    const run = summarise(files, { ...green, '@huleedu/ws-client#test': 1 }, [], {
      '@huleedu/ws-client#test': 18,
    });
    expect(run.output).toContain('FAILED @huleedu/ws-client#test: exited 1');
    expect(run.closing).toBe('110 passed, 1 failed, 2 skipped');
  });

  it("counts a pytest task's tests, as pytest prints no count of files", () => {
    const log = `${files}\n@huleedu/notify-python:test: ===== 40 passed, 3 skipped in 3.1s =====`;
    const tasks = { ...green, '@huleedu/notify-python#test': 0 };
    expect(summarise(log, tasks, [], { '@huleedu/notify-python#test': 43 }).status).toBe(0);
    expect(summarise(log, tasks, [], { '@huleedu/notify-python#test': 44 }).output).toContain(
      'FAILED @huleedu/notify-python#test: ran 43 test(s), at least 44 expected',
    );
  });

  it('refuses a floor file with a number that is not a count of files', () => {
    const run = summarise(files, green, [], { '@huleedu/auth#test': 0 });
    expect(run.status).toBe(2);
  });

  it("has the repository's floor file in the shape the script reads", () => {
    const floor = JSON.parse(readFileSync(join(dirname(script), 'test-floor.json'), 'utf8'));
    for (const [id, minimum] of Object.entries(floor)) {
      if (id.startsWith('$')) continue;
      expect(id).toMatch(/#test(:[\w-]+)?$/);
      expect(Number.isInteger(minimum) && minimum >= 1, id).toBe(true);
    }
  });
});
