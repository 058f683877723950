import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
// The package's exports map does not include its bin: take the one pnpm links for `pnpm lint`.
const depcruise = `${root}node_modules/dependency-cruiser/bin/dependency-cruise.mjs`;

/** Runs the lint step's cycle check (`pnpm lint`) on `path`: its exit code and output. */
function cruise(path: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [depcruise, path, '--config', '.dependency-cruiser.cjs'],
      { cwd: root, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

describe('import cycle check (dependency-cruiser)', () => {
  it('refuses a folder whose modules import each other', async () => {
    const { code, output } = await cruise('test/fixtures/import-cycle');
    expect(code).not.toBe(0);
    expect(output).toContain('no-circular');
    expect(output).toContain('first.ts');
  });

  it('finds no cycle in the service source', async () => {
    const { code, output } = await cruise('src');
    expect(output).toContain('no dependency violations found');
    expect(code).toBe(0);
  });
});
