/**
 * Rewrites the generated sections of docs/benchmarks.md from docs/bench/latest.json (and
 * 100k.json when present), without running anything: `node dist/update-docs.js`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fromRepo } from './config.js';
import { render100kSection, renderLatestSection, updateMarkedFile } from './docs.js';
import type { BenchReport } from './report.js';
import type { Bench100kReport } from './storm.js';

const outDir = fromRepo(process.env.BENCH_OUT ?? 'docs/bench');
const docsFile = fromRepo(process.env.BENCH_DOCS ?? 'docs/benchmarks.md');

const latest = join(outDir, 'latest.json');
if (existsSync(latest)) {
  const report = JSON.parse(readFileSync(latest, 'utf8')) as BenchReport;
  const chart = relative(dirname(docsFile), join(outDir, 'latest.svg'));
  updateMarkedFile(docsFile, 'latest', renderLatestSection(report, chart));
  process.stdout.write(`updated ${docsFile} from ${latest}\n`);
}
const big = join(outDir, '100k.json');
if (existsSync(big)) {
  const report = JSON.parse(readFileSync(big, 'utf8')) as Bench100kReport;
  updateMarkedFile(docsFile, '100k', render100kSection(report));
  process.stdout.write(`updated ${docsFile} from ${big}\n`);
}
