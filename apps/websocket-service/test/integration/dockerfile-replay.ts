import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One instruction of the Dockerfile's build stage that the replay acts on. */
export type BuildStep =
  | { readonly kind: 'COPY'; readonly sources: readonly string[]; readonly dest: string }
  | { readonly kind: 'RUN'; readonly command: string };

/**
 * The COPY and RUN instructions of the Dockerfile's `build` stage, in order, with line
 * continuations joined and `--mount=...` options removed (a cache mount changes where the store
 * lives, not what runs).
 */
export function buildStageSteps(dockerfile: string): BuildStep[] {
  const lines = dockerfile.replace(/\\\n\s*/g, ' ').split('\n');
  const start = lines.findIndex((line) => /^FROM \S+ AS build$/.test(line));
  if (start < 0) throw new Error('the Dockerfile has no "FROM ... AS build" stage');
  const steps: BuildStep[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('FROM ')) break;
    const [instruction = '', ...rest] = line.trim().split(/\s+/);
    const args = rest.filter((arg) => !arg.startsWith('--mount='));
    if (instruction === 'COPY') {
      const dest = args.pop();
      if (dest === undefined || args.length === 0) throw new Error(`unreadable COPY: ${line}`);
      steps.push({ kind: 'COPY', sources: args, dest });
    } else if (instruction === 'RUN') {
      steps.push({ kind: 'RUN', command: args.join(' ') });
    }
  }
  return steps;
}

/**
 * The files `COPY . .` sends: the repository's files (tracked or new, not git-ignored) that the
 * Dockerfile's own ignore file does not exclude. A pattern excludes a path or any folder above it.
 */
export async function buildContextFiles(repoRoot: string, ignoreFile: string): Promise<string[]> {
  const patterns = readFileSync(ignoreFile, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map(ignorePattern);
  const { stdout } = await run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: repoRoot,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const excluded = (file: string): boolean => {
    const parts = file.split('/');
    return parts.some((_, i) => {
      const prefix = parts.slice(0, i + 1).join('/');
      return patterns.some((pattern) => pattern.test(prefix));
    });
  };
  return stdout.split('\0').filter((file) => file !== '' && !excluded(file));
}

/** A .dockerignore line as a regular expression: `**` spans folders, `*` and `?` do not. */
function ignorePattern(line: string): RegExp {
  if (line.startsWith('!')) throw new Error(`negated ignore patterns are not replayed: ${line}`);
  const source = line
    .replace(/^\/+/, '')
    .split(/(\*\*\/|\*\*|\*|\?)/)
    .map((part) => {
      if (part === '**/') return '(?:.*/)?';
      if (part === '**') return '.*';
      if (part === '*') return '[^/]*';
      if (part === '?') return '[^/]';
      return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

/** Where a replayed step's absolute paths land on this machine. */
export interface ReplayPaths {
  /** The build stage's WORKDIR stand-in: the copied context. */
  readonly workDir: string;
  /** Stands in for the image's root folder, for COPY to and RUN of absolute paths. */
  readonly rootDir: string;
}

/** Copies what a COPY step names from `repoRoot` (`.` means the whole build context). */
export function replayCopy(
  step: Extract<BuildStep, { kind: 'COPY' }>,
  repoRoot: string,
  contextFiles: readonly string[],
  paths: ReplayPaths,
): void {
  const destination = step.dest.startsWith('/')
    ? join(paths.rootDir, step.dest)
    : join(paths.workDir, step.dest);
  for (const source of step.sources) {
    if (source === '.') {
      for (const file of contextFiles) {
        mkdirSync(dirname(join(destination, file)), { recursive: true });
        cpSync(join(repoRoot, file), join(destination, file));
      }
      continue;
    }
    const target = step.dest.endsWith('/')
      ? join(destination, posix.basename(source))
      : destination;
    mkdirSync(dirname(target), { recursive: true });
    cpSync(join(repoRoot, source), target);
  }
}

/** A RUN command with the image's absolute paths (`/usr/local/bin/...`, `/out`) moved under `rootDir`. */
export function localCommand(command: string, paths: ReplayPaths): string {
  return command.replace(/(^|\s)\/(?=[\w.-])/g, `$1${paths.rootDir}/`);
}
