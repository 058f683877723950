/**
 * `pnpm bench:100k`: 100,000 authenticated sockets on one multi-process service, one
 * notification per user, then a reconnect storm. Writes docs/bench/100k.json and the
 * `bench:100k` section of docs/benchmarks.md. `--help` lists every option.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bench100kOptions, parseBench100kConfig } from './config-100k.js';
import { render100kSection, updateMarkedFile } from './docs.js';
import { BenchError } from './errors.js';
import { commandLine, usage } from './options.js';
import { runBench100k } from './scenario-100k.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const config = parseBench100kConfig(argv);
  if (config.help) {
    process.stdout.write(`${usage('pnpm bench:100k', bench100kOptions)}\n`);
    return;
  }
  const report = await runBench100k(config, {
    log: (line) => process.stderr.write(`[bench:100k] ${line}\n`),
    command: commandLine('pnpm bench:100k', argv),
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

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const code = error instanceof BenchError ? ` [${error.code}]` : '';
    process.stderr.write(
      `bench:100k failed${code}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
