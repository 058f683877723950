import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';

/**
 * Resolves `specifier` (a package name with a subpath its exports map lists, e.g.
 * `@huleedu/notify/lua/publish.lua`) the way the package in `from` would import it; `from`
 * defaults to the working directory, which is the package whose tests or benchmark are running.
 * Resolving from the caller rather than from this package keeps `@huleedu/test-support` free of
 * dependencies on the packages that test with it. Throws an error that names the package to add
 * when it cannot be found.
 */
export function resolveFromPackage(specifier: string, from: string = process.cwd()): string {
  try {
    return createRequire(join(from, 'package.json')).resolve(specifier);
  } catch (error) {
    const name = specifier.split('/').slice(0, 2).join('/');
    throw new Error(
      `cannot resolve ${specifier} from ${from} (${(error as Error).message.split('\n')[0]}): add ${name} to that package's devDependencies and build it (pnpm build)`,
    );
  }
}

/**
 * The monorepo's root: the nearest folder at or above `from` (default: the working directory)
 * holding `pnpm-workspace.yaml`, with a trailing slash. Throws when there is none.
 */
export function repositoryRoot(from: string = process.cwd()): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return `${dir}${sep}`;
    if (dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml at or above ${from}`);
  }
}
