import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { monotonicUs } from '../src/clock.js';
import { type CpuProfile, summarizeProfile, summarizeProfiles } from '../src/profile.js';

const dir = mkdtempSync(join(tmpdir(), 'huleedu-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CPU profile summary', () => {
  it('finds the hot function of another process inside a window of our monotonic clock', () => {
    const script = join(dir, 'busy.mjs');
    writeFileSync(
      script,
      'function spinForAWhile() { const end = Date.now() + 300; let x = 0; while (Date.now() < end) x++; return x; }\nspinForAWhile();\n',
    );
    const since = Date.now();
    const startUs = monotonicUs();
    const run = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, script]);
    const endUs = monotonicUs();
    expect(run.status).toBe(0);

    const [summary] = summarizeProfiles(dir, [{ name: 'burst', startUs, endUs }], since);
    expect(summary?.phase).toBe('burst');
    expect(summary?.functions[0]?.name).toMatch(/^spinForAWhile .*busy\.mjs:1$/);
    expect(summary?.functions[0]?.percent).toBeGreaterThan(50);
    expect(summary?.modules[0]?.name).toContain('busy.mjs');

    // A window before the process ran holds none of its samples.
    const before = summarizeProfiles(
      dir,
      [{ name: 'connect', startUs: 0, endUs: startUs - 1 }],
      since,
    );
    expect(before).toEqual([]);
  });

  it('weights samples by time, groups packages and keeps idle out of the shares', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        {
          id: 2,
          callFrame: {
            functionName: 'frame',
            url: 'file:///x/node_modules/.pnpm/ws@8.23.0/node_modules/ws/lib/sender.js',
            lineNumber: 9,
          },
        },
        { id: 3, callFrame: { functionName: 'parse', url: 'node:internal/json', lineNumber: 0 } },
      ],
      startTime: 1000,
      endTime: 2000,
      samples: [2, 2, 3, 1, 1],
      timeDeltas: [0, 100, 300, 100, 100],
    };
    const summary = summarizeProfile(profile, { name: 'burst', startUs: 0, endUs: 5000 }, 'p');
    // sample weights: next delta -> frame 100 + 300, parse 100, idle 100 + 0
    expect(summary.busyMs).toBe(1);
    expect(summary.functions.map((f) => [f.name, f.percent])).toEqual([
      ['frame ws/lib/sender.js:10', 80],
      ['parse node:internal/json:1', 20],
    ]);
    expect(summary.modules.map((m) => m.name)).toEqual(['ws', 'node internals']);
  });

  it('says what each unit of the phase work cost: µs per socket opened or frame delivered', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: 'writev', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'parse', url: 'node:internal/json', lineNumber: 0 } },
      ],
      startTime: 0,
      endTime: 1000,
      samples: [1, 1, 2, 1],
      timeDeltas: [0, 300, 300, 100],
    };
    // Two pieces of one phase (the connect halves): their units add up. Weights (the time to
    // the next sample): writev 300 + 300 (the last sample has none), parse 100.
    const summary = summarizeProfile(
      profile,
      [
        { name: 'burst', startUs: 0, endUs: 350, units: 40 },
        { name: 'burst', startUs: 351, endUs: 1000, units: 60 },
      ],
      'p',
    );
    expect(summary.units).toBe(100);
    expect(summary.busyUsPerUnit).toBe(7);
    expect(summary.modules.map((m) => [m.name, m.usPerUnit])).toEqual([
      ['(native)', 6],
      ['node internals', 1],
    ]);
    // Without units (older windows) there is no per-unit figure.
    const plain = summarizeProfile(profile, { name: 'burst', startUs: 0, endUs: 1000 }, 'p');
    expect(plain.busyUsPerUnit).toBeUndefined();
    expect(plain.modules[0]?.usPerUnit).toBeUndefined();
  });
});
