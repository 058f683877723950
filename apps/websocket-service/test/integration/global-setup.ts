import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Integration tests run dist/main.js as a child process: rebuild it when src is newer. */
export default function setup(): void {
  const main = join(root, 'dist', 'main.js');
  const built = existsSync(main) ? statSync(main).mtimeMs : 0;
  // Recursive: the sources live in subsystem folders too.
  const newest = Math.max(
    ...readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).map(
      (f) => statSync(join(root, 'src', f)).mtimeMs,
    ),
  );
  if (newest <= built) return;
  const result = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error('building the service for integration tests failed');
}
