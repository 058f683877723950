import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every `.ts` file under `src/`, as `src/...` paths. */
function sourceFiles(): string[] {
  return readdirSync(`${root}src`, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => `src/${path.split('\\').join('/')}`)
    .sort();
}

/** The files the README's modules table names, one per row. */
function tableFiles(): string[] {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('## Modules'), readme.indexOf('## Tests'));
  return [...section.matchAll(/^\| `(src\/[^`]+\.ts)` +\|/gm)].map((match) => match[1]!).sort();
}

describe('README modules table', () => {
  it('names every source file once, and no file that does not exist', () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(20);
    expect(tableFiles()).toEqual(files);
  });
});
