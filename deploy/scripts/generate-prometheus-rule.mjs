// Writes kubernetes/base/prometheusrule.yaml from prometheus/alerts.yml.
import { writeFileSync } from 'node:fs';
import { prometheusRuleFile, prometheusRuleYaml } from './prometheus-rule.mjs';

writeFileSync(prometheusRuleFile, prometheusRuleYaml());
console.log(`wrote ${prometheusRuleFile}`);
