/**
 * The V8 flags the service runs with, wherever it ships: the image's `CMD` (Dockerfile), the
 * package's `start` script, the repository's `scripts/start.sh`, every worker the cluster primary
 * forks, and `pnpm bench`'s service targets. `test/v8-flags.test.ts` keeps the Dockerfile, the
 * `start` script and `scripts/start.sh` equal to this list.
 *
 * `--max-semi-space-size=4`: by default V8 grows its young generation to 16 MiB per semi-space
 * while thousands of handshakes allocate, and keeps those pages resident, which shows as RSS per
 * idle socket on top of the live objects. A 4 MiB cap keeps that small without slowing connects
 * or delivery (the figures: docs/benchmarks.md, "Memory per socket: where it goes").
 */
export const serviceV8Flags: readonly string[] = ['--max-semi-space-size=4'];

/**
 * `execArgv` plus each of {@link serviceV8Flags} that the operator did not set already, on the
 * command line (`execArgv`) or in `NODE_OPTIONS`: an explicit choice wins (Node gives the command
 * line precedence over `NODE_OPTIONS`, so appending ours would silently override theirs).
 */
export function withServiceV8Flags(execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = new Set(
    [...execArgv, ...nodeOptions.split(/\s+/)].filter((arg) => arg !== '').map(flagName),
  );
  return [...execArgv, ...serviceV8Flags.filter((flag) => !given.has(flagName(flag)))];
}

/** `--max_semi_space_size=8` -> `--max-semi-space-size` (V8 takes either spelling). */
function flagName(arg: string): string {
  const equals = arg.indexOf('=');
  return (equals < 0 ? arg : arg.slice(0, equals)).replaceAll('_', '-');
}
