import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { paths } from './files.js';

/** Words of PromQL that look like names but are not series. */
const keywords = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The series names a PromQL expression reads: identifiers that are not functions, keywords,
 * label names (inside `{}` or after `by`/`on`/...), durations or Grafana variables.
 */
export function seriesNames(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const before = stripped[match.index - 1] ?? ' ';
    const after = stripped.slice(match.index + name.length).trimStart();
    if (after.startsWith('(') || keywords.has(name.toLowerCase())) continue;
    // The exponent of a number (1e6).
    if (/[0-9.]/.test(before)) continue;
    names.add(name);
  }
  return names;
}

/** One alerting rule of alerts.yml. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/** The rule groups of alerts.yml. */
export function ruleGroups(): Array<{ name: string; rules: AlertRule[] }> {
  return (parse(readFileSync(paths.rules, 'utf8')) as { groups: [] }).groups;
}

/** Every alerting rule of alerts.yml. */
export function alertRules(): AlertRule[] {
  return ruleGroups().flatMap((group) => group.rules);
}

/** A query the dashboard runs, and where. */
export interface DashboardQuery {
  readonly where: string;
  readonly expr: string;
}

/** The Grafana dashboard as parsed JSON. */
export interface Dashboard {
  readonly title: string;
  readonly uid: string;
  readonly panels: Array<{
    id: number;
    type: string;
    title: string;
    gridPos: { x: number; y: number; w: number; h: number };
    datasource?: { type: string; uid: string };
    targets?: Array<{ refId: string; expr: string }>;
  }>;
  readonly templating: { list: Array<{ name: string; type: string; definition?: string }> };
}

/** The dashboard file. */
export function dashboard(): Dashboard {
  return JSON.parse(readFileSync(paths.dashboard, 'utf8')) as Dashboard;
}

/**
 * Every PromQL expression of the dashboard (panel targets, and the series named in its
 * `label_values(...)` variables), with Grafana's variables still in.
 */
export function dashboardQueries(board: Dashboard = dashboard()): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of board.panels) {
    for (const target of panel.targets ?? []) {
      queries.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
    }
  }
  for (const variable of board.templating.list) {
    const series = /^label_values\((.*),\s*\w+\)$/.exec(variable.definition ?? '')?.[1];
    if (series !== undefined) queries.push({ where: `variable $${variable.name}`, expr: series });
  }
  return queries;
}

/** An expression with Grafana's variables replaced by values Prometheus accepts. */
export function withoutGrafanaVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replace(/\$\{?(\w+)\}?/g, 'x');
}

/** Runs promtool with `args`; throws with its output when it fails (or is not installed). */
export function promtool(args: string[], cwd: string): string {
  try {
    return execFileSync('promtool', args, { cwd, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { stdout, stderr, code } = error as { stdout?: string; stderr?: string; code?: string };
    if (code === 'ENOENT') {
      throw new Error(
        'promtool is not installed: Debian: apt-get install prometheus (scripts/lib.sh ensure_promtool)',
      );
    }
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/**
 * Checks the syntax of PromQL expressions with `promtool check rules`, each written as a
 * recording rule into a scratch rules file.
 */
export function checkExpressions(exprs: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'huleedu-promql-'));
  try {
    const rules = exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr }));
    writeFileSync(join(dir, 'queries.yml'), JSON.stringify({ groups: [{ name: 'q', rules }] }));
    return promtool(['check', 'rules', 'queries.yml'], dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Markdown files that name metrics for operators. */
export const metricDocs = [
  'docs/scaling.md',
  'docs/architecture.md',
  'apps/websocket-service/README.md',
  'deploy/README.md',
];

/**
 * The PromQL expressions the operator docs write inline: code spans that call a PromQL function
 * or compare a service series.
 */
export function docExpressions(repositoryRoot: string): DashboardQuery[] {
  const calls = /\b(rate|irate|increase|sum|avg|min|max|histogram_quantile|absent)\s*\(/;
  return metricDocs.flatMap((file) =>
    inlineCode(readFileSync(join(repositoryRoot, file), 'utf8'))
      .filter(
        (code) =>
          // A call with a series in it (not prose about `rate()`), or a comparison of a series.
          (calls.test(code) && /\(\s*[a-z]+_[a-z_]+/.test(code)) ||
          (code.includes('huleedu_ws_') && /[<>]|==/.test(code)),
      )
      .map((expr) => ({ where: file, expr })),
  );
}

/** Inline code spans of a Markdown text (`like this`), fenced blocks left out. */
export function inlineCode(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return [...prose.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!);
}
