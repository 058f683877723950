import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '@huleedu/test-support';
import { describe, expect, it } from 'vitest';
import { serviceV8Flags, withServiceV8Flags } from '../src/v8-flags.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('serviceV8Flags: one list, wherever the service starts', () => {
  it('is what the image runs: the Dockerfile CMD is node, these flags, dist/main.js', () => {
    const cmd = read('../Dockerfile')
      .split('\n')
      .filter((line) => line.startsWith('CMD '));
    expect(cmd).toHaveLength(1);
    expect(JSON.parse(cmd[0]!.slice(4))).toEqual(['node', ...serviceV8Flags, 'dist/main.js']);
  });

  it('is what the start script runs', () => {
    const { scripts } = JSON.parse(read('../package.json')) as { scripts: { start: string } };
    expect(scripts.start).toBe(['node', ...serviceV8Flags, 'dist/main.js'].join(' '));
  });

  it("is what the repository's scripts/start.sh runs", () => {
    const line = readFileSync(join(repositoryRoot(), 'scripts/start.sh'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('apps/websocket-service/dist/main.js'));
    expect(line).toEqual([
      ['node', ...serviceV8Flags, 'apps/websocket-service/dist/main.js', '&'].join(' '),
    ]);
  });

  it('caps the young generation', () => {
    expect(serviceV8Flags).toContain('--max-semi-space-size=4');
  });
});

describe('withServiceV8Flags', () => {
  it('adds the service flags after the given ones', () => {
    expect(withServiceV8Flags(['--cpu-prof'])).toEqual(['--cpu-prof', ...serviceV8Flags]);
  });

  it('leaves a flag the operator set on the command line or in NODE_OPTIONS alone', () => {
    expect(withServiceV8Flags(['--max-semi-space-size=16'])).toEqual(['--max-semi-space-size=16']);
    expect(withServiceV8Flags([], '--max_semi_space_size=8')).toEqual([]);
    expect(withServiceV8Flags([], ' --enable-source-maps  --max-semi-space-size=2 ')).toEqual([]);
  });

  it('does not add a flag twice (a worker of a primary started with them)', () => {
    expect(withServiceV8Flags([...serviceV8Flags])).toEqual([...serviceV8Flags]);
  });
});
