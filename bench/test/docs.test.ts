import { describe, expect, it } from 'vitest';
import { replaceMarkedSection } from '../src/docs.js';
import { BenchError } from '../src/errors.js';

describe('replaceMarkedSection', () => {
  const doc = 'intro\n<!-- bench:latest:start -->\nold table\n<!-- bench:latest:end -->\noutro\n';

  it('replaces only what lies between the markers', () => {
    const updated = replaceMarkedSection(doc, 'latest', '| new | table |\n');
    expect(updated).toBe(
      'intro\n<!-- bench:latest:start -->\n| new | table |\n<!-- bench:latest:end -->\noutro\n',
    );
    expect(replaceMarkedSection(updated, 'latest', 'again')).toContain('start -->\nagain\n<!--');
  });

  it('fails with a clear error when the markers are missing', () => {
    expect(() => replaceMarkedSection(doc, '100k', 'x')).toThrow(BenchError);
    expect(() => replaceMarkedSection(doc, '100k', 'x')).toThrow(/bench:100k:start/);
  });
});
