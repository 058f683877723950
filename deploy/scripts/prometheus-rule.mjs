import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

/** The deploy folder. */
export const deployDir = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The one source of the alert rules. */
export const rulesFile = join(deployDir, 'prometheus', 'alerts.yml');
/** The PrometheusRule generated from it. */
export const prometheusRuleFile = join(deployDir, 'kubernetes', 'base', 'prometheusrule.yaml');

const header = `# GENERATED from deploy/prometheus/alerts.yml by \`pnpm --filter @huleedu/deploy generate\`;
# edit that file, not this one (a test fails when this one is stale). For the Prometheus
# Operator; without it, load alerts.yml into Prometheus's rule_files instead.
`;

/** The PrometheusRule object (as YAML text) holding exactly the groups of alerts.yml. */
export function prometheusRuleYaml() {
  const { groups } = parse(readFileSync(rulesFile, 'utf8'));
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'websocket-service',
      labels: {
        'app.kubernetes.io/name': 'websocket-service',
        'app.kubernetes.io/part-of': 'huleedu',
      },
    },
    spec: { groups },
  };
  return header + stringify(rule, { lineWidth: 0 });
}
