import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { brokenMarkdownLinks, fencedBlocks, headingAnchors, markdownLinks } from '../src/index.js';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

/** A throw-away repository with these files (path -> content). */
function repository(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'markdown-links-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe('headingAnchors', () => {
  it("gives GitHub's anchors: lower case, punctuation dropped, repeats numbered", () => {
    const anchors = headingAnchors(
      '# Scaling\n## Memory per socket: where it goes\n### `WEBSOCKET_WORKERS` mode\n## 100,000 sockets\n## Example\n## Example\n```sh\n# not a heading\n```\n',
    );
    expect([...anchors]).toEqual([
      'scaling',
      'memory-per-socket-where-it-goes',
      'websocket_workers-mode',
      '100000-sockets',
      'example',
      'example-1',
    ]);
  });
});

describe('markdownLinks and fencedBlocks', () => {
  it('finds links in text, tables, images and HTML, but not in code', () => {
    const text = [
      '| [`apps/demo`](apps/demo) | ![chart](bench/latest.svg "chart") |',
      'See [the rules](#rules) and `[not a link](nowhere)`.',
      '<img src="docs/demo.png"> [ref]: docs/scaling.md',
      '[ref]: docs/benchmarks.md',
      '```md',
      '[in a block](nowhere)',
      '```',
    ].join('\n');
    expect(markdownLinks(text)).toEqual([
      { target: 'apps/demo', line: 1 },
      { target: 'bench/latest.svg', line: 1 },
      { target: '#rules', line: 2 },
      { target: 'docs/demo.png', line: 3 },
      { target: 'docs/benchmarks.md', line: 4 },
    ]);
    expect(fencedBlocks(text)).toEqual([{ lang: 'md', code: '[in a block](nowhere)', line: 5 }]);
  });
});

describe('brokenMarkdownLinks', () => {
  it('accepts links to files, folders and headings inside the repository', () => {
    const root = repository({
      'README.md':
        '[a](packages/a) [b](packages/a/README.md#usage) [top](#title) [web](https://x.example/y)\n# Title\n',
      'packages/a/README.md': '## Usage\n[up](../../README.md)\n',
      'packages/a/src/index.ts': '',
    });
    expect(brokenMarkdownLinks(root)).toEqual([]);
  });

  it('reports a missing file, a link leaving the repository, an unknown anchor and build output', () => {
    const root = repository({
      'README.md': [
        '[design](../shared/DESIGN.md)',
        '[gone](docs/missing.md)',
        '[anchor](docs/guide.md#no-such-heading)',
        '[here](#nope)',
        '[built](packages/a/dist/index.js)',
        '[root](/docs/guide.md)',
      ].join('\n'),
      'docs/guide.md': '# Guide\n',
      'packages/a/dist/index.js': '',
    });
    expect(brokenMarkdownLinks(root)).toEqual([
      'README.md:1: ../shared/DESIGN.md: leaves the repository',
      'README.md:2: docs/missing.md: no such file or folder',
      'README.md:3: docs/guide.md#no-such-heading: no heading #no-such-heading in docs/guide.md',
      'README.md:4: #nope: no heading #nope in README.md',
      'README.md:5: packages/a/dist/index.js: points into a folder a clone does not have',
      'README.md:6: /docs/guide.md: absolute path: write it relative to this file',
    ]);
  });
});
