// The code examples of the repository's Markdown and how each one is meant to be used: an example
// that talks to the local stack carries a marker on the line before its fence, either
// `<!-- example: run -->` (the quick-start test runs it against `bash scripts/start.sh`, in the
// Markdown file's folder, or in the folder `<!-- example: run in <folder> -->` names) or
// `<!-- example: skip: <why> -->`.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type FencedBlock, fencedBlocks, markdownFiles } from '@huleedu/test-support';

/** One fenced code block of a Markdown file, with its marker. */
export interface DocExample extends FencedBlock {
  /** Repository-relative path of the Markdown file. */
  file: string;
  /** `run`, `skip`, or undefined when the block has no marker. */
  mark: 'run' | 'skip' | undefined;
  /** Why a `skip` block is not run. */
  reason?: string;
  /** Repository-relative folder a `run` block runs in. */
  cwd: string;
}

const marker = /^\s*<!--\s*example:\s*(run|skip)\s*(?:in\s+(\S+)|:\s*(.*?))?\s*-->\s*$/;

/**
 * Text that only makes sense against the local stack: its documented addresses (service 8080,
 * Redis 6379, demo 3000), the notify command line, the start script or redis-cli.
 */
export const namesLocalStack =
  /\b(?:localhost|127\.0\.0\.1):(?:8080|6379|3000)\b|huleedu-notify|scripts\/start\.sh|redis-cli/;

/** Markdown files whose code is not an example: generated changelogs and changeset notes. */
const notDocs = (file: string) => file.endsWith('CHANGELOG.md') || file.startsWith('.changeset/');

/** The repository's documentation: every Markdown file but changelogs and changeset notes. */
export function docFiles(root: string): string[] {
  return markdownFiles(root).filter((file) => !notDocs(file));
}

/** Every fenced block of every Markdown file below `root`, with the marker before it. */
export function docExamples(root: string): DocExample[] {
  return docFiles(root).flatMap((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const lines = text.split('\n');
    return fencedBlocks(text).map((block) => {
      let before = block.line - 2;
      while (before >= 0 && lines[before]?.trim() === '') before--;
      const found = marker.exec(lines[before] ?? '');
      const mark = found?.[1] as DocExample['mark'];
      return {
        ...block,
        file,
        mark,
        cwd: found?.[2] ?? dirname(file),
        ...(found?.[3] ? { reason: found[3] } : {}),
      };
    });
  });
}

/**
 * The examples that name the local stack but carry no marker, as `<file>:<line>` with the fix;
 * every one of them must either run in the quick-start test or say why not.
 */
export function unmarkedStackExamples(examples: DocExample[]): string[] {
  return examples
    .filter((example) => example.mark === undefined && namesLocalStack.test(example.code))
    .map(
      (example) =>
        `${example.file}:${example.line}: names the local stack; put <!-- example: run --> ` +
        '(or <!-- example: skip: <why> -->) on the line before its fence',
    );
}

/** The ports of the stack the examples run against, in place of the documented defaults. */
export interface ExamplePorts {
  service: number;
  redis: number;
  demo: number;
}

/** The example's text with the documented ports 8080, 6379 and 3000 moved to `ports`. */
export function localizeExample(code: string, ports: ExamplePorts): string {
  return code
    .replace(/\b(?:localhost|127\.0\.0\.1):8080\b/g, `127.0.0.1:${ports.service}`)
    .replace(/\b(?:localhost|127\.0\.0\.1):6379\b/g, `127.0.0.1:${ports.redis}`)
    .replace(/\b(?:localhost|127\.0\.0\.1):3000\b/g, `127.0.0.1:${ports.demo}`);
}
