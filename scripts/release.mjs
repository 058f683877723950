// `pnpm release`: builds every public package and publishes it to the registry the npm
// configuration names for the @huleedu scope, then tags the release in git.
//
//   1. lists the workspace's public packages (every package without "private": true) and checks
//      that each is publishable (see publishProblems); stops naming every problem otherwise;
//   2. reads the registry for @huleedu from the npm configuration (.npmrc: project, user,
//      NPM_CONFIG_USERCONFIG) and stops when none is named, so nothing goes to the public npm
//      registry by accident;
//   3. builds them (turbo, which builds what they depend on first);
//   4. builds the Python package's wheel and sdist when python/huleedu-notify/pyproject.toml
//      exists (scripts/build-python.py), after checking its version is the npm packages' (see
//      scripts/python-version.mjs), and says it skipped them otherwise;
//   5. publishes them with `pnpm publish -r` (which rewrites `workspace:` ranges to the real
//      versions and skips a version the registry already has);
//   6. creates the git tags (`changeset tag`) unless --no-git-tag.
//
// usage: pnpm release [--dry-run] [--no-git-checks] [--no-git-tag] [--tag DIST_TAG]
//                     [--skip-python]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { npmVersion, pythonVersion } from './python-version.mjs';

/** The repository root (this file lives in scripts/). */
export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the Python package lives; built only when its pyproject.toml exists. */
export const pythonPackage = 'python/huleedu-notify';

/** The scope every public package is published under. */
export const scope = '@huleedu';

/**
 * The workspace's packages as `pnpm ls -r` lists them: name, version, folder and whether they
 * are private, read from each package.json.
 * @param {string} root
 * @returns {{ name: string, version: string, path: string, private: boolean, manifest: Record<string, unknown> }[]}
 */
export function workspacePackages(root) {
  const listed = run('pnpm', ['ls', '-r', '--depth', '-1', '--json'], { cwd: root, capture: true });
  /** @type {{ name?: string, version?: string, path: string, private?: boolean }[]} */
  const entries = JSON.parse(listed);
  return entries
    .filter((entry) => entry.path !== root)
    .map((entry) => {
      const manifest = JSON.parse(readFileSync(join(entry.path, 'package.json'), 'utf8'));
      return {
        name: manifest.name,
        version: manifest.version,
        path: entry.path,
        private: manifest.private === true,
        manifest,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * What keeps a package from being published the way a consumer needs it, one sentence each;
 * empty when nothing does. A public package needs a name in the scope, a version, a license,
 * a repository, a description, a README, `files` naming what ships, and an `exports` map whose
 * every code entry has `types` and `import` conditions.
 * @param {{ name: string, path: string, manifest: Record<string, any> }} pkg
 * @returns {string[]}
 */
export function publishProblems(pkg) {
  const { manifest } = pkg;
  const problems = [];
  const need = (ok, message) => {
    if (!ok) problems.push(`${pkg.name}: ${message}`);
  };
  need(
    typeof manifest.name === 'string' && manifest.name.startsWith(`${scope}/`),
    `name must be in the ${scope} scope`,
  );
  need(/^\d+\.\d+\.\d+/.test(manifest.version ?? ''), 'version must be semver (x.y.z)');
  need(typeof manifest.license === 'string', 'license is missing');
  need(typeof manifest.description === 'string', 'description is missing');
  need(
    typeof manifest.repository === 'object' && typeof manifest.repository?.url === 'string',
    'repository { type, url, directory } is missing',
  );
  need(existsSync(join(pkg.path, 'README.md')), 'README.md is missing');
  need(
    Array.isArray(manifest.files) && manifest.files.includes('dist'),
    '"files" must list "dist" (and only what ships)',
  );
  const exports = manifest.exports;
  if (typeof exports !== 'object' || exports === null) {
    need(false, '"exports" map is missing');
  } else {
    for (const [entry, target] of Object.entries(exports)) {
      if (typeof target === 'string') {
        need(!/\.[cm]?js$/.test(target), `exports["${entry}"] is code without "types"`);
        continue;
      }
      need(typeof target?.types === 'string', `exports["${entry}"] has no "types" condition`);
      need(typeof target?.import === 'string', `exports["${entry}"] has no "import" condition`);
      need(
        Object.keys(target ?? {})[0] === 'types',
        `exports["${entry}"]: "types" must come first`,
      );
    }
  }
  return problems;
}

/**
 * The registry npm publishes @huleedu packages to, from the npm configuration; undefined when
 * no .npmrc names one (npm would fall back to the public registry).
 * @param {string} root
 * @returns {string | undefined}
 */
export function scopeRegistry(root) {
  const value = run('npm', ['config', 'get', `${scope}:registry`], {
    cwd: root,
    capture: true,
  }).trim();
  return value === '' || value === 'undefined' ? undefined : value;
}

/**
 * Runs a command; throws naming it when it fails. With `capture`, returns its stdout.
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd: string, capture?: boolean }} options
 * @returns {string}
 */
function run(command, args, { cwd, capture = false }) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) {
    const detail = capture ? `\n${result.stderr}` : '';
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}${detail}`);
  }
  return result.stdout ?? '';
}

/**
 * The Python that builds the package: $PYTHON, else Debian's /usr/bin/python3 (where apt puts
 * python3-setuptools and python3-wheel, which a pyenv python3 first on PATH does not see), else
 * python3.
 * @returns {string}
 */
export function pythonCommand() {
  const { PYTHON: chosen } = process.env;
  if (chosen) return chosen;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

const log = (message) => console.error(`[release] ${message}`);

/**
 * Builds and publishes every public package (see the header of this file).
 * @param {string[]} argv
 */
export function release(argv) {
  const { values: options } = parseArgs({
    args: argv,
    options: {
      'dry-run': { type: 'boolean', default: false },
      'no-git-checks': { type: 'boolean', default: false },
      'no-git-tag': { type: 'boolean', default: false },
      'skip-python': { type: 'boolean', default: false },
      tag: { type: 'string' },
    },
  });
  const root = repositoryRoot;
  const publicPackages = workspacePackages(root).filter((pkg) => !pkg.private);
  const problems = publicPackages.flatMap(publishProblems);
  if (problems.length > 0) {
    throw new Error(`not publishable:\n  ${problems.join('\n  ')}`);
  }
  log(`public packages: ${publicPackages.map((p) => `${p.name}@${p.version}`).join(', ')}`);

  const registry = scopeRegistry(root);
  if (registry === undefined) {
    throw new Error(
      `no registry is named for ${scope}: add "${scope}:registry=<url>" and its auth token line ` +
        'to an .npmrc (see the README, "Releasing"); nothing was published',
    );
  }
  log(`registry for ${scope}: ${registry}`);

  run(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', ...publicPackages.map((p) => `--filter=${p.name}`)],
    {
      cwd: root,
    },
  );

  const pyproject = join(root, pythonPackage, 'pyproject.toml');
  if (options['skip-python']) {
    log('Python package: skipped (--skip-python)');
  } else if (existsSync(pyproject)) {
    const version = pythonVersion(readFileSync(pyproject, 'utf8'));
    if (version !== undefined && version !== npmVersion()) {
      throw new Error(
        `${relative(root, pyproject)} says version ${version}, the packages ${npmVersion()}: ` +
          'run pnpm version-packages (or set it by hand); nothing was published',
      );
    }
    const outDir = join(root, pythonPackage, 'dist');
    const builder = join(root, 'scripts/build-python.py');
    run(pythonCommand(), [builder, join(root, pythonPackage), outDir], { cwd: root });
    log(`Python package: wheel and sdist in ${relative(root, outDir)}/`);
  } else {
    log(`Python package: skipped (${relative(root, pyproject)} does not exist)`);
  }

  const publishArgs = ['publish', '-r', ...publicPackages.map((p) => `--filter=${p.name}`)];
  if (options['dry-run']) publishArgs.push('--dry-run');
  if (options['no-git-checks']) publishArgs.push('--no-git-checks');
  if (options.tag !== undefined) publishArgs.push('--tag', options.tag);
  run('pnpm', publishArgs, { cwd: root });

  if (options['dry-run'] || options['no-git-tag']) {
    log('git tags: not created');
  } else {
    run('pnpm', ['exec', 'changeset', 'tag'], { cwd: root });
  }
  log(options['dry-run'] ? 'dry run done: nothing was published' : `published to ${registry}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    release(process.argv.slice(2));
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
