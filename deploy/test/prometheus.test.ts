import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prometheusRuleFile, prometheusRuleYaml } from '../scripts/prometheus-rule.mjs';
import { paths } from './files.js';
import { alertRules, promtool, seriesNames } from './promql.js';

interface RulesTest {
  name: string;
  alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }>;
}

describe('deploy/prometheus/alerts.yml', () => {
  it('passes promtool check rules', () => {
    expect(promtool(['check', 'rules', 'alerts.yml'], dirname(paths.rules))).toMatch(
      /SUCCESS: \d+ rules found/,
    );
  });

  it('passes its promtool unit tests', () => {
    expect(promtool(['test', 'rules', 'alerts.test.yml'], dirname(paths.rules))).toContain(
      'SUCCESS',
    );
  });

  it('has a unit test for every alert: one case where it fires and one where it does not', () => {
    const tests = (parse(readFileSync(paths.rulesTests, 'utf8')) as { tests: RulesTest[] }).tests;
    const cases = tests.flatMap((test) => test.alert_rule_test ?? []);
    const alerts = alertRules().map((rule) => rule.alert);
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} has no test where it fires`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} has no test where it stays quiet`,
      ).toBe(true);
    }
    // No test names an alert that does not exist.
    expect(cases.map((c) => c.alertname).filter((name) => !alerts.includes(name))).toEqual([]);
  });

  it('gives every alert a severity, a summary and a runbook section that exists in deploy/README.md', () => {
    const readme = readFileSync(`${paths.deploy}/README.md`, 'utf8');
    for (const rule of alertRules()) {
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.runbook).toBe(`deploy/README.md#${rule.alert.toLowerCase()}`);
      expect(readme, `deploy/README.md has no "### ${rule.alert}"`).toMatch(
        new RegExp(`^### ${rule.alert}$`, 'm'),
      );
    }
  });

  it('is the same rule set as the PrometheusRule object (generated from it, not stale)', () => {
    expect(readFileSync(prometheusRuleFile, 'utf8')).toBe(prometheusRuleYaml());
  });
});

describe('seriesNames', () => {
  it('finds the series of an expression and nothing else', () => {
    expect([
      ...seriesNames(
        'histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{reason=~"x|y", le!="1"}[5m]))) > 1e3 and on (instance) b offset 5m',
      ),
    ]).toEqual(['a_bucket', 'b']);
    expect([
      ...seriesNames('sum(rate(c_total{job="$job"}[$__rate_interval])) / d * 104857600'),
    ]).toEqual(['c_total', 'd']);
  });
});
