/**
 * The bench's command, in two modes. `pnpm bench` (`--mode compare`): the service, the reference
 * relay and Socket.IO under the same client load; prints the table with ratios, writes
 * docs/bench/latest.json and latest.svg, and rewrites the results section of docs/benchmarks.md.
 * `pnpm bench:100k` (`--mode 100k`): 100,000 authenticated sockets on one multi-process service,
 * one notification per user, then a reconnect storm; writes docs/bench/100k.json and the
 * `bench:100k` section of docs/benchmarks.md. `--help` lists every option of the mode.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBench, runBench100k, writeReport } from './bench.js';
import {
  type BenchMode,
  bench100kOptions,
  benchCommands,
  benchModeOf,
  benchOptions,
  parseBench100kConfig,
  parseBenchConfig,
} from './config.js';
import { render100kSection, updateMarkedFile } from './docs.js';
import { BenchError } from './errors.js';
import { historyConsole } from './history-cost.js';
import { commandLine, usage } from './options.js';
import { formatProfileSummary } from './profile.js';
import { consoleTable } from './report.js';

/** Runs the comparison of the servers side by side. */
async function compare(argv: readonly string[], log: (line: string) => void): Promise<void> {
  const config = parseBenchConfig(argv);
  if (config.help) {
    process.stdout.write(`${usage(benchCommands.compare, benchOptions)}\n`);
    return;
  }
  const report = await runBench(config, {
    log,
    command: commandLine(benchCommands.compare, argv),
    note: process.env.BENCH_NOTE ?? '',
  });
  process.stdout.write(`\n${consoleTable(report)}\n`);
  const history = historyConsole(report.history);
  if (history) process.stdout.write(`\n${history}\n`);
  for (const summary of report.profiles)
    process.stdout.write(`\n${formatProfileSummary(summary)}\n`);
  const written = writeReport(report, config.outDir, config.docsFile);
  process.stdout.write(
    `\nwrote ${written.json}, ${written.svg}${written.docs ? ` and ${written.docs}` : ''}\n`,
  );
  const lost = report.results.reduce((sum, r) => sum + r.lost, 0);
  if (lost > 0) process.stdout.write(`note: ${lost} deliveries lost in total (see the table)\n`);
}

/** Runs 100,000 sockets (or as many as asked) and the reconnect storm. */
async function hundredThousand(
  argv: readonly string[],
  log: (line: string) => void,
): Promise<void> {
  const config = parseBench100kConfig(argv);
  if (config.help) {
    process.stdout.write(`${usage(benchCommands['100k'], bench100kOptions)}\n`);
    return;
  }
  const report = await runBench100k(config, {
    log,
    command: commandLine(
      benchCommands['100k'],
      argv.filter((_arg, i) => !isModeArg(argv, i)),
    ),
    note: process.env.BENCH_NOTE ?? '',
  });
  const section = render100kSection(report);
  process.stdout.write(`\n${section}\n`);
  mkdirSync(config.outDir, { recursive: true });
  const json = join(config.outDir, '100k.json');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  if (config.docsFile) updateMarkedFile(config.docsFile, '100k', section);
  process.stdout.write(`\nwrote ${json}${config.docsFile ? ` and ${config.docsFile}` : ''}\n`);
}

/** Whether `argv[i]` is part of `--mode <m>` / `--mode=<m>` (the command name says the mode). */
function isModeArg(argv: readonly string[], i: number): boolean {
  return argv[i]?.startsWith('--mode') === true || argv[i - 1] === '--mode';
}

const modes: Readonly<
  Record<BenchMode, (argv: readonly string[], log: (line: string) => void) => Promise<void>>
> = { compare, '100k': hundredThousand };

let mode: BenchMode = 'compare';
Promise.resolve()
  .then(() => {
    const argv = process.argv.slice(2);
    mode = benchModeOf(argv);
    const tag = mode === 'compare' ? 'bench' : `bench:${mode}`;
    return modes[mode](argv, (line) => process.stderr.write(`[${tag}] ${line}\n`));
  })
  .then(
    () => process.exit(0),
    (error: unknown) => {
      const code = error instanceof BenchError ? ` [${error.code}]` : '';
      const name = mode === 'compare' ? 'bench' : `bench:${mode}`;
      process.stderr.write(
        `${name} failed${code}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
