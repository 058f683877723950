// Reads the test run's output and prints one closing line for the whole monorepo:
// "N passed, N failed" (", N skipped" when any), summed over every package's vitest summary.
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
const totals = { passed: 0, failed: 0, skipped: 0 };
let suites = 0;
for (const line of text.split('\n')) {
  const match = /\bTests\s+(.*)\((\d+)\)\s*$/.exec(line);
  if (!match) continue;
  suites++;
  for (const part of match[1].split('|')) {
    const [, count, kind] = /(\d+)\s+(passed|failed|skipped|todo)/.exec(part) ?? [];
    if (kind === 'todo') totals.skipped += Number(count);
    else if (kind) totals[kind] += Number(count);
  }
}
const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
console.log(`\ntest packages: ${suites}`);
console.log(`${totals.passed} passed, ${totals.failed} failed${skipped}`);
