import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { defaults, envSchema, loadSettings } from '@huleedu/websocket-service';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IContainer, IHTTPGetAction, IPodSpec, IProbe, IService } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import {
  type KubeObject,
  loadManifests,
  type ManifestDocument,
  objectOf,
  paths,
  validateObject,
  yamlFiles,
} from './files.js';

const all = loadManifests(paths.kubernetes);
const isKustomization = ({ object }: ManifestDocument) =>
  object.apiVersion.startsWith('kustomize.config.k8s.io/');
const objects = all.filter((document) => !isKustomization(document));
const base = loadManifests(paths.base).filter((document) => !isKustomization(document));

const deployment = objectOf<IDeployment>(base, 'Deployment');
const pod = deployment.spec!.template.spec as IPodSpec;
const container = pod.containers[0] as IContainer;
const configMap = objectOf<KubeObject & { data: Record<string, string> }>(base, 'ConfigMap');

/** Every variable the service's config schema reads. */
const knownVariables = new Set(Object.keys(envSchema.in.shape));

/** Whole seconds of a variable as the service reads it: the ConfigMap's value, else its default. */
function seconds(variable: keyof typeof defaults): number {
  return Number(configMap.data[variable] ?? defaults[variable]);
}

/** Bytes of a Kubernetes memory quantity (`768Mi`, `1Gi`, `500M`). */
function bytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity);
  if (match === null) throw new Error(`not a memory quantity: ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ''];
  return Number(match[1]) * (unit ?? 1);
}

describe('deploy/kubernetes', () => {
  it('parses every YAML file, and every object validates against its API schema offline', () => {
    expect(objects.length).toBeGreaterThanOrEqual(12);
    const problems: string[] = [];
    for (const { file, object } of objects) {
      try {
        validateObject(object);
      } catch (error) {
        problems.push(`${file} (${object.kind}): ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('rejects an object the schema forbids (the check can fail)', () => {
    const broken = structuredClone(deployment) as unknown as KubeObject;
    (broken as unknown as IDeployment).spec!.template.spec!.containers[0]!
      .ports![0]!.containerPort = 'http' as unknown as number;
    expect(() => validateObject(broken)).toThrow(/containerPort must be integer/);
    expect(() => validateObject({ ...broken, kind: 'Deploymnet' })).toThrow(/no API schema/);
  });

  it('lists every base manifest in the kustomization, and every path a kustomization names exists', () => {
    const kustomizations = all.filter(isKustomization);
    expect(kustomizations.map((k) => k.file).sort()).toEqual([
      'kubernetes/base/kustomization.yaml',
      'kubernetes/overlays/production-example/kustomization.yaml',
    ]);
    for (const { file, object } of kustomizations) {
      const dir = dirname(join(paths.deploy, file));
      const named = [
        ...((object.resources as string[] | undefined) ?? []),
        ...((object.patches as Array<{ path: string }> | undefined) ?? []).map((p) => p.path),
      ];
      for (const path of named) expect(existsSync(join(dir, path)), `${file}: ${path}`).toBe(true);
    }
    const baseKustomization = kustomizations.find((k) => k.file.includes('/base/'))!.object;
    const listed = new Set(baseKustomization.resources as string[]);
    const files = yamlFiles(paths.base)
      .map((path) => basename(path))
      .filter((name) => name !== 'kustomization.yaml' && !name.endsWith('.example.yaml'));
    expect([...listed].sort()).toEqual(files.sort());
  });

  it('sets only variables the service knows, with values its config schema accepts', () => {
    const names: string[] = [];
    for (const { object } of objects) {
      if (object.kind === 'ConfigMap') names.push(...Object.keys(object.data as object));
      if (object.kind === 'Deployment') {
        const spec = (object as unknown as IDeployment).spec!.template.spec!;
        for (const c of spec.containers) names.push(...(c.env ?? []).map((e) => e.name));
      }
    }
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((name) => !knownVariables.has(name))).toEqual([]);
    // The values start the service (with a stand-in secret, and the TCP cap the open-file limit
    // of a usual container runtime, 1,048,576, gives).
    const result = loadSettings({
      WEBSOCKET_MAX_TCP_CONNECTIONS: String(1_048_576 - 128),
      ...configMap.data,
      JWT_SECRET_KEY: 'a-stand-in-secret-of-enough-length-0123456789',
    });
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  it("accepts the overlay's settings merged over the base's, as kustomize merges them", () => {
    const overlay = all.find(
      ({ file, object }) => file.includes('/overlays/') && object.kind === 'ConfigMap',
    )!.object as KubeObject & { data: Record<string, string> };
    expect(overlay.metadata.name).toBe(configMap.metadata.name);
    const result = loadSettings({
      WEBSOCKET_MAX_TCP_CONNECTIONS: String(1_048_576 - 128),
      ...configMap.data,
      ...overlay.data,
      JWT_SECRET_KEY: 'a-stand-in-secret-of-enough-length-0123456789',
    });
    expect(result.ok ? [] : result.issues).toEqual([]);
    if (result.ok) expect(result.settings.allowedOrigins).toEqual(['https://app.huleedu.example']);
  });

  it('takes the JWT secret from a Secret, never from a literal, and ships only a placeholder Secret', () => {
    expect(configMap.data).not.toHaveProperty('JWT_SECRET_KEY');
    const secret = container.env?.find((e) => e.name === 'JWT_SECRET_KEY');
    expect(secret?.value).toBeUndefined();
    expect(secret?.valueFrom?.secretKeyRef).toEqual({
      name: 'websocket-service-jwt',
      key: 'JWT_SECRET_KEY',
    });
    // Base and overlays hold no Secret; the example is not applied by any kustomization.
    expect(objects.filter((d) => d.object.kind === 'Secret').map((d) => d.file)).toEqual([
      'kubernetes/base/secret.example.yaml',
    ]);
    const example = objectOf<KubeObject & { stringData: Record<string, string> }>(
      objects,
      'Secret',
    );
    expect(example.metadata.name).toBe('websocket-service-jwt');
    expect(example.stringData.JWT_SECRET_KEY).toMatch(/^REPLACE-/);
  });

  it('listens where the service listens, and probes the paths the service answers', () => {
    const port = container.ports?.find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(seconds('WEBSOCKET_SERVICE_PORT'));
    const probe = (p: IProbe | undefined) => p?.httpGet as IHTTPGetAction | undefined;
    expect(probe(container.startupProbe)).toEqual({ path: '/healthz', port: 'http' });
    expect(probe(container.livenessProbe)).toEqual({ path: '/healthz', port: 'http' });
    expect(probe(container.readinessProbe)).toEqual({ path: '/readyz', port: 'http' });
    // The live test (live-series.test.ts) asks the running service for these same paths.
  });

  it('gives the drain its time: grace period >= preStop pause + WEBSOCKET_SHUTDOWN_GRACE_SECONDS + 5 s', () => {
    const command = container.lifecycle?.preStop?.exec?.command;
    expect(command?.[0]).toBe('sleep');
    const pause = Number(command?.[1]);
    expect(pause).toBeGreaterThan(0);
    const drain = seconds('WEBSOCKET_SHUTDOWN_GRACE_SECONDS');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(pause + drain + 5);
  });

  it('runs as non-root on a read-only root filesystem, without privileges', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.securityContext?.runAsUser).not.toBe(0);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('sizes memory by docs/scaling.md: limit >= 1.5 x (100 MiB + 8 KiB per socket at the socket cap)', () => {
    const sockets = Number(configMap.data.WEBSOCKET_MAX_CONNECTIONS);
    expect(sockets).toBeGreaterThan(0);
    const model = 100 * 2 ** 20 + sockets * 8 * 2 ** 10;
    const limits = container.resources?.limits as Record<string, string>;
    const requests = container.resources?.requests as Record<string, string>;
    expect(bytes(limits.memory!)).toBeGreaterThanOrEqual(1.5 * model);
    expect(bytes(requests.memory!)).toBeGreaterThanOrEqual(100 * 2 ** 20);
    expect(bytes(requests.memory!)).toBeLessThanOrEqual(bytes(limits.memory!));
    // No CPU limit: throttling would show up as delivery latency.
    expect(limits).not.toHaveProperty('cpu');
    expect(requests).toHaveProperty('cpu');
  });

  it('points every selector and reference at the Deployment, its pods and its port', () => {
    const podLabels = deployment.spec!.template.metadata!.labels!;
    const matches = (selector: Record<string, string> | undefined) =>
      selector !== undefined &&
      Object.keys(selector).length > 0 &&
      Object.entries(selector).every(([key, value]) => podLabels[key] === value);
    const service = objectOf<IService>(base, 'Service');
    expect(matches(service.spec!.selector)).toBe(true);
    expect(service.spec!.ports).toContainEqual(expect.objectContaining({ targetPort: 'http' }));
    const pdb = objectOf<IPodDisruptionBudget>(base, 'PodDisruptionBudget');
    expect(matches(pdb.spec!.selector!.matchLabels)).toBe(true);
    expect(pdb.spec!.maxUnavailable).toBe(1);
    const hpa = objectOf<IHorizontalPodAutoscaler>(base, 'HorizontalPodAutoscaler');
    expect(hpa.spec!.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata!.name,
    });
    expect(hpa.spec!.minReplicas).toBeGreaterThanOrEqual(2);
    const policy = objectOf<INetworkPolicy>(base, 'NetworkPolicy');
    expect(matches(policy.spec!.podSelector.matchLabels)).toBe(true);
    expect(policy.spec!.ingress![0]!.ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    const monitor = objectOf<IServiceMonitor>(base, 'ServiceMonitor');
    // The ServiceMonitor selects Services by their labels.
    expect(service.metadata!.labels).toEqual(
      expect.objectContaining(monitor.spec.selector.matchLabels),
    );
    expect(monitor.spec.endpoints![0]).toMatchObject({ port: 'http', path: '/metrics' });
    expect(pod.serviceAccountName).toBe(objectOf(base, 'ServiceAccount').metadata.name);
  });
});
