// `pnpm release` before it publishes: which packages it takes, what it refuses, and the Python
// build it runs when the Python package exists. Publishing itself is proven end to end in
// packages/release-check (a local Verdaccio and fresh consumer projects).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { pythonVersion, withPythonVersion } from '../python-version.mjs';
import { publishProblems, pythonCommand, repositoryRoot, workspacePackages } from '../release.mjs';

const scripts = join(dirname(fileURLToPath(import.meta.url)), '..');
// Child processes (npm, pnpm, python3) on a shared machine: generous limits.
const slow = { timeout: 60_000 };
const dirs = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

/** The environment without what pnpm exports for its scripts, so npm reads only .npmrc files. */
const cleanEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm|pnpm)_/i.test(key)));

describe('the packages pnpm release publishes', () => {
  const packages = workspacePackages(repositoryRoot);

  it('are the four libraries; the service, demo, bench and test helpers stay private', () => {
    const names = packages.filter((pkg) => !pkg.private).map((pkg) => pkg.name);
    expect(names).toEqual([
      '@huleedu/auth',
      '@huleedu/notify',
      '@huleedu/ws-client',
      '@huleedu/ws-protocol',
    ]);
  });

  it('are each publishable as they are', () => {
    const problems = packages.filter((pkg) => !pkg.private).flatMap(publishProblems);
    expect(problems).toEqual([]);
  });

  it('refuses a manifest a consumer could not use, naming each problem', () => {
    const problems = publishProblems({
      name: '@huleedu/broken',
      path: tempDir('broken-'),
      manifest: {
        name: 'broken',
        version: 'next',
        exports: { '.': { import: './dist/index.js', types: './dist/index.d.ts' } },
        files: ['src'],
      },
    });
    expect(problems).toEqual([
      '@huleedu/broken: name must be in the @huleedu scope',
      '@huleedu/broken: version must be semver (x.y.z)',
      '@huleedu/broken: license is missing',
      '@huleedu/broken: description is missing',
      '@huleedu/broken: repository { type, url, directory } is missing',
      '@huleedu/broken: README.md is missing',
      '@huleedu/broken: "files" must list "dist" (and only what ships)',
      '@huleedu/broken: exports["."]: "types" must come first',
    ]);
  });
});

describe('pnpm release without a registry for @huleedu', () => {
  it('stops before building or publishing and says how to name one', slow, () => {
    const home = tempDir('release-home-');
    const userconfig = join(home, '.npmrc');
    writeFileSync(userconfig, '');
    const result = spawnSync(process.execPath, [join(scripts, 'release.mjs'), '--dry-run'], {
      cwd: repositoryRoot,
      env: { ...cleanEnv(), HOME: home, NPM_CONFIG_USERCONFIG: userconfig },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no registry is named for @huleedu');
    expect(result.stderr).toContain('nothing was published');
    expect(result.stderr).not.toContain('turbo');
  });

  it('rejects an unknown option by name', slow, () => {
    const result = spawnSync(process.execPath, [join(scripts, 'release.mjs'), '--publish-all'], {
      cwd: repositoryRoot,
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Unknown option '--publish-all'");
  });
});

describe('scripts/build-python.py', () => {
  it(
    'builds an sdist and a wheel with the installed backend, leaving the project clean',
    slow,
    () => {
      const project = tempDir('python-project-');
      mkdirSync(join(project, 'src/example_pkg'), { recursive: true });
      writeFileSync(join(project, 'src/example_pkg/__init__.py'), 'VERSION = "1.2.3"\n');
      writeFileSync(
        join(project, 'pyproject.toml'),
        [
          '[build-system]',
          'requires = ["setuptools>=61"]',
          'build-backend = "setuptools.build_meta"',
          '[project]',
          'name = "example-pkg"',
          'version = "1.2.3"',
          '',
        ].join('\n'),
      );
      const out = join(project, 'dist');
      const result = spawnSync(pythonCommand(), [join(scripts, 'build-python.py'), project, out], {
        encoding: 'utf8',
      });
      expect(result.status, result.stderr).toBe(0);
      const built = readdirSync(out);
      expect(built).toHaveLength(2);
      expect(built).toContain('example_pkg-1.2.3-py3-none-any.whl');
      // setuptools before 69 keeps the hyphen in the sdist's name
      expect(built.some((file) => /^example[-_]pkg-1\.2\.3\.tar\.gz$/.test(file))).toBe(true);
      expect(readdirSync(project).sort()).toEqual(['dist', 'pyproject.toml', 'src']);
    },
  );

  it('names the missing backend instead of a traceback', slow, () => {
    const project = tempDir('python-project-');
    writeFileSync(
      join(project, 'pyproject.toml'),
      '[build-system]\nrequires = ["no-such-backend"]\nbuild-backend = "no_such_backend"\n',
    );
    const result = spawnSync(
      pythonCommand(),
      [join(scripts, 'build-python.py'), project, join(project, 'dist')],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("the build backend 'no_such_backend' is not installed");
    expect(result.stderr).toContain('install no-such-backend');
  });
});

describe('the Python package version', () => {
  const pyproject = [
    '[build-system]',
    'requires = ["setuptools>=61"]',
    '',
    '[project]',
    'name = "huleedu-notify"',
    'version = "0.1.0"',
    'dependencies = ["redis"]',
    '',
    '[tool.mypy]',
    'version = "not this one"',
    '',
  ].join('\n');

  it('is read from [project] and set there only', () => {
    expect(pythonVersion(pyproject)).toBe('0.1.0');
    const bumped = withPythonVersion(pyproject, '0.2.0');
    expect(pythonVersion(bumped)).toBe('0.2.0');
    expect(bumped).toContain('version = "not this one"');
    expect(bumped.replace('0.2.0', '0.1.0')).toBe(pyproject);
  });

  it('is undefined when the backend computes it', () => {
    expect(pythonVersion('[project]\nname = "x"\ndynamic = ["version"]\n')).toBeUndefined();
  });
});
