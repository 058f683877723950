import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { deployDir } from '../scripts/prometheus-rule.mjs';

/** The deploy folder, and the folders in it. */
export const paths = {
  deploy: deployDir,
  kubernetes: join(deployDir, 'kubernetes'),
  base: join(deployDir, 'kubernetes', 'base'),
  rules: join(deployDir, 'prometheus', 'alerts.yml'),
  rulesTests: join(deployDir, 'prometheus', 'alerts.test.yml'),
  dashboard: join(deployDir, 'grafana', 'websocket-service.json'),
};

/** A Kubernetes object as written in a manifest. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** One YAML document of a manifest file, with where it came from. */
export interface ManifestDocument {
  /** Path relative to deploy/. */
  readonly file: string;
  readonly object: KubeObject;
}

/** Every `.yaml`/`.yml` file under `dir`, recursively, sorted. */
export function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => join(dir, name))
    .sort();
}

/** Parses every document of every YAML file under `dir`; a syntax error throws, naming the file. */
export function loadManifests(dir: string): ManifestDocument[] {
  const documents: ManifestDocument[] = [];
  for (const path of yamlFiles(dir)) {
    const file = relative(paths.deploy, path);
    for (const document of parseAllDocuments(readFileSync(path, 'utf8'))) {
      if (document.errors.length > 0) {
        throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
      }
      const object = document.toJS() as KubeObject | null;
      if (object !== null) documents.push({ file, object });
    }
  }
  return documents;
}

/** The API models (schemas) objects are validated against, by `apiVersion/kind`. */
const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

/**
 * Validates one object against its Kubernetes (or Prometheus Operator) API schema, offline.
 * Throws with the schema's complaints; an object of a kind without a model throws too.
 */
export function validateObject(object: KubeObject): void {
  const Model = models[`${object.apiVersion}/${object.kind}`];
  if (Model === undefined) {
    throw new Error(`no API schema for ${object.apiVersion} ${object.kind}`);
  }
  new Model(object as never).validate();
}

/** The single object of `kind` (and `name`, when given) among `documents`. */
export function objectOf<T = KubeObject>(
  documents: readonly ManifestDocument[],
  kind: string,
  name?: string,
): T {
  const found = documents.filter(
    ({ object }) => object.kind === kind && (name === undefined || object.metadata.name === name),
  );
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!.object as T;
}
