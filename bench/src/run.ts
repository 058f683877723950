/**
 * `pnpm bench`: the service, the reference relay and Socket.IO under the same client load.
 * Prints the table with ratios, writes docs/bench/latest.json and latest.svg, and rewrites the
 * results section of docs/benchmarks.md. `--help` lists every option.
 */
import { runBench, writeReport } from './bench.js';
import { benchOptions, parseBenchConfig } from './config.js';
import { BenchError } from './errors.js';
import { historyConsole } from './history-cost.js';
import { commandLine, usage } from './options.js';
import { formatProfileSummary } from './profile.js';
import { consoleTable } from './report.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const config = parseBenchConfig(argv);
  if (config.help) {
    process.stdout.write(`${usage('pnpm bench', benchOptions)}\n`);
    return;
  }
  const log = (line: string): void => {
    process.stderr.write(`[bench] ${line}\n`);
  };
  const report = await runBench(config, {
    log,
    command: commandLine('pnpm bench', argv),
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

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const code = error instanceof BenchError ? ` [${error.code}]` : '';
    process.stderr.write(
      `bench failed${code}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
