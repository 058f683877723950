/** The deploy folder. */
export const deployDir: string;
/** The one source of the alert rules (prometheus/alerts.yml). */
export const rulesFile: string;
/** The PrometheusRule generated from it (kubernetes/base/prometheusrule.yaml). */
export const prometheusRuleFile: string;
/** The PrometheusRule object (as YAML text) holding exactly the groups of alerts.yml. */
export function prometheusRuleYaml(): string;
