import { describe, expect, it } from 'vitest';
import { brokenMarkdownLinks, markdownFiles, repositoryRoot } from '../src/index.js';

// Every README and doc of this repository must stand on its own: each relative link resolves to a
// file or folder of the clone (and to a heading, for an anchor).
const root = repositoryRoot();

describe("the repository's Markdown", () => {
  it('covers the READMEs of the root, every package and app, the bench and docs/', () => {
    const files = markdownFiles(root);
    for (const expected of [
      'README.md',
      'apps/websocket-service/README.md',
      'packages/protocol/README.md',
      'bench/README.md',
      'docs/architecture.md',
      'docs/scaling.md',
    ]) {
      expect(files).toContain(expected);
    }
  });

  it('has no relative link that fails to resolve inside the repository', () => {
    expect(brokenMarkdownLinks(root)).toEqual([]);
  });
});
