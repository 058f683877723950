// Reading the repository's Markdown the way GitHub renders it: which files there are, the fenced
// code blocks, the heading anchors, and every relative link checked against the tree. Used by the
// tests that keep the docs from drifting (links here, example notifications in the client).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Folders that are never part of a clone: installed packages, build output, caches, git itself.
 * A link into one of them works on the machine that built it and nowhere else.
 */
const notInClone = new Set(['node_modules', 'dist', '.git', '.turbo', '.tmp', 'coverage']);

/** Every file below `root` that a clone holds, as `/`-separated paths relative to `root`, sorted. */
export function repositoryFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (notInClone.has(entry.name)) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return files.sort();
}

/** The Markdown files among {@link repositoryFiles}. */
export function markdownFiles(root: string): string[] {
  return repositoryFiles(root).filter((file) => file.endsWith('.md'));
}

/** One fenced code block: its info string's first word (`ts`, `sh`, or ''), its text, its line. */
export interface FencedBlock {
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

const fence = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;

/** The fenced code blocks of a Markdown text, in order. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  let open: { marker: string; lang: string; line: number; lines: string[] } | undefined;
  markdown.split('\n').forEach((text, index) => {
    const match = fence.exec(text);
    if (open === undefined) {
      if (match) open = { marker: match[1]!, lang: match[2] ?? '', line: index + 1, lines: [] };
    } else if (match?.[1]?.startsWith(open.marker) && match[2] === '') {
      blocks.push({ lang: open.lang, code: open.lines.join('\n'), line: open.line });
      open = undefined;
    } else {
      open.lines.push(text);
    }
  });
  return blocks;
}

/** The text with every fenced block's lines blanked (line numbers kept). */
function withoutFencedBlocks(markdown: string): string {
  const lines = markdown.split('\n');
  for (const block of fencedBlocks(markdown)) {
    const lineCount = block.code === '' ? 0 : block.code.split('\n').length;
    for (let i = block.line - 1; i <= block.line + lineCount; i++) lines[i] = '';
  }
  return lines.join('\n');
}

/**
 * The anchors GitHub gives a Markdown text's headings: lower case, punctuation dropped, spaces
 * as hyphens, `-1`, `-2`, ... for repeats (`## Redis Cluster` -> `redis-cluster`).
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFencedBlocks(markdown).split('\n')) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** One link of a Markdown file. */
export interface MarkdownLink {
  target: string;
  /** 1-based line. */
  line: number;
}

/**
 * The link targets of a Markdown text outside code: inline links and images, reference
 * definitions, and `href`/`src` attributes of inline HTML.
 */
export function markdownLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  withoutFencedBlocks(markdown)
    .split('\n')
    .forEach((raw, index) => {
      const text = raw.replace(/`+[^`]*`+/g, ''); // code spans are not links
      const patterns = [
        /!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+["'(][^)]*)?\)/g,
        /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)/g,
        /\s(?:href|src)="([^"]*)"/g,
      ];
      for (const pattern of patterns) {
        for (const match of text.matchAll(pattern)) {
          links.push({ target: match[1] ?? '', line: index + 1 });
        }
      }
    });
  return links;
}

/**
 * Every relative link in every Markdown file below `root` that does not resolve inside the
 * repository: a missing file or folder, a path leaving `root`, a folder only a build creates, an
 * absolute path, or an anchor no heading of the target Markdown file has. Each problem reads
 * `<file>:<line>: <target>: <what is wrong>`. Links with a scheme (`https:`, `mailto:`) are not
 * followed.
 */
export function brokenMarkdownLinks(root: string): string[] {
  const files = repositoryFiles(root);
  const fileSet = new Set(files);
  const folders = new Set(files.flatMap((file) => ancestors(file)));
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (file: string) => {
    let found = anchorsOf.get(file);
    if (found === undefined) {
      found = headingAnchors(readFileSync(join(root, file), 'utf8'));
      anchorsOf.set(file, found);
    }
    return found;
  };

  const problems: string[] = [];
  for (const file of files.filter((name) => name.endsWith('.md'))) {
    for (const { target, line } of markdownLinks(readFileSync(join(root, file), 'utf8'))) {
      const problem = linkProblem(file, target);
      if (problem !== undefined) problems.push(`${file}:${line}: ${target}: ${problem}`);
    }
  }
  return problems;

  function linkProblem(file: string, target: string): string | undefined {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined;
    if (target === '') return 'empty link';
    const [pathPart = '', anchor] = target.split('#', 2);
    if (pathPart.startsWith('/')) return 'absolute path: write it relative to this file';
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathPart);
    } catch {
      return 'not a valid URL path';
    }
    const absolute = decoded === '' ? join(root, file) : resolve(root, dirname(file), decoded);
    const inside = relative(root, absolute).split(sep).join('/');
    if (inside.startsWith('..') || isAbsolute(inside)) return 'leaves the repository';
    const path = inside === '' ? '.' : inside;
    if (!fileSet.has(path) && !folders.has(path)) {
      const buildOnly = path.split('/').some((part) => notInClone.has(part));
      return buildOnly ? 'points into a folder a clone does not have' : 'no such file or folder';
    }
    if (anchor !== undefined && fileSet.has(path) && extname(path) === '.md') {
      if (!anchors(path).has(decodeURIComponent(anchor))) return `no heading #${anchor} in ${path}`;
    }
    return undefined;
  }
}

/** `a/b/c.md` -> `['.', 'a', 'a/b']`. */
function ancestors(file: string): string[] {
  const parts = file.split('/').slice(0, -1);
  return ['.', ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))];
}
