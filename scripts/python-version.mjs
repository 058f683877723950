// The Python package's version follows the npm packages': `pnpm version-packages` runs
// `changeset version` and then this script, which writes @huleedu/notify's new version into
// python/huleedu-notify/pyproject.toml ([project] version). `pnpm release` refuses to build a
// Python package whose version differs.
//
// usage: node scripts/python-version.mjs        (writes the version; says so when there is no
//                                                 Python package or its version is dynamic)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** pyproject.toml of the Python package, relative to the repository root. */
export const pyprojectPath = 'python/huleedu-notify/pyproject.toml';

const projectVersion = /^(\[project\][^[]*?^version\s*=\s*)"([^"]*)"/ms;

/**
 * The static `[project] version` of a pyproject.toml text, or undefined when it has none (a
 * version the build backend computes).
 * @param {string} text
 * @returns {string | undefined}
 */
export function pythonVersion(text) {
  return projectVersion.exec(text)?.[2];
}

/**
 * The pyproject.toml text with its `[project] version` set to `version`.
 * @param {string} text
 * @param {string} version
 * @returns {string}
 */
export function withPythonVersion(text, version) {
  return text.replace(projectVersion, (_, head) => `${head}"${version}"`);
}

/** The version of the npm packages (one fixed group): @huleedu/notify's. */
export function npmVersion() {
  return JSON.parse(readFileSync(join(root, 'packages/notify/package.json'), 'utf8')).version;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = join(root, pyprojectPath);
  if (!existsSync(file)) {
    console.error(`[version] ${pyprojectPath} does not exist: no Python version to set`);
  } else {
    const text = readFileSync(file, 'utf8');
    const version = npmVersion();
    if (pythonVersion(text) === undefined) {
      console.error(
        `[version] ${pyprojectPath} has no static [project] version: set it to ${version}`,
      );
    } else {
      writeFileSync(file, withPythonVersion(text, version));
      console.error(`[version] ${pyprojectPath}: version = "${version}"`);
    }
  }
}
