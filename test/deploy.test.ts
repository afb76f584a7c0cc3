// The Kubernetes manifests in deploy/kubernetes, checked offline: each object against the
// Kubernetes API's JSON schemas (kubernetes-models), each config they hold against
// driverkit's own config rules, and the wiring between them (names, ports, probes, users).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateConfig } from '../src/config/schema.js';
import { SERVICE_ENV } from '../src/driver/service-options.js';
import { ROOT } from './paths.js';

const DIR = join(ROOT, 'deploy', 'kubernetes');

/** A manifest object: whatever the YAML holds. */
type Obj = any;

const MODELS: Record<string, new (o: Obj) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const objects: Array<{ file: string; o: Obj }> = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    return { file, o: doc.toJS() };
  }),
);
const of = (kind: string) => objects.filter(({ o }) => o.kind === kind);
const containers = of('Deployment').flatMap(({ file, o }) =>
  (o.spec.template.spec.containers as Obj[]).map((c) => ({ file, deployment: o, c })),
);

describe('deploy/kubernetes', () => {
  it('has the three topologies: a driver service, the gateway, and sidecars', () => {
    expect(files.sort()).toEqual(['driver.yaml', 'gateway.yaml', 'namespace.yaml', 'sidecar.yaml']);
  });

  it.each(objects.map(({ file, o }) => ({ file, kind: o.kind, name: o.metadata.name, o })))(
    '$file: $kind $name is valid against the Kubernetes API schema',
    ({ o }) => {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `${o.apiVersion}/${o.kind} is one the tests know`).toBeDefined();
      expect(() => new Model(o).validate()).not.toThrow();
    },
  );

  it('every config in a ConfigMap is a valid driverkit config', () => {
    for (const { o } of of('ConfigMap')) {
      const text = o.data['driverkit.toml'];
      const config = validateConfig(
        parseToml(text),
        `${o.metadata.name}/driverkit.toml`,
        '/etc/driverkit',
      );
      for (const d of config.drivers) expect(d.address, d.name).toBeDefined();
    }
  });

  it('every container runs as a non-root user on a read-only root, with gRPC or TCP probes on a plaintext port', () => {
    for (const { deployment, c } of containers) {
      const pod = deployment.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, c.name).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(c.securityContext.readOnlyRootFilesystem, c.name).toBe(true);
      expect(c.securityContext.allowPrivilegeEscalation, c.name).toBe(false);
      expect(c.readinessProbe.grpc, c.name).toBeDefined();
      expect(c.livenessProbe.grpc ?? c.livenessProbe.tcpSocket, c.name).toBeDefined();
    }
  });

  it('drivers listen where their probes and Services look, with only the SDK’s environment', () => {
    const known = new Set<string>(Object.values(SERVICE_ENV));
    for (const { c } of containers.filter(({ c }) => c.command)) {
      const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value]));
      for (const name of Object.keys(env)) expect(known, name).toContain(name);
      const healthPort = Number(/:(\d+)$/.exec(env[SERVICE_ENV.healthListen])![1]);
      expect(c.readinessProbe.grpc.port).toBe(healthPort);
      expect(JSON.parse(env[SERVICE_ENV.configure])).toHaveProperty('config');
    }
    // The gateway dials the driver by its headless Service's DNS name, on its port.
    const headless = of('Service').find(({ o }) => o.spec.clusterIP === 'None')!.o;
    const gatewayConfig = parseToml(
      of('ConfigMap').find(({ o }) => o.metadata.name === 'driverkit-gateway')!.o.data[
        'driverkit.toml'
      ],
    ) as Obj;
    expect(gatewayConfig.drivers.users.address).toBe(
      `dns:///${headless.metadata.name}.${headless.metadata.namespace}.svc.cluster.local:${headless.spec.ports[0].port}`,
    );
  });

  it('every Service and PodDisruptionBudget selects a Deployment’s pods', () => {
    const labels = of('Deployment').map(({ o }) => o.spec.template.metadata.labels);
    for (const { o } of [...of('Service'), ...of('PodDisruptionBudget')]) {
      const selector = o.kind === 'Service' ? o.spec.selector : o.spec.selector.matchLabels;
      expect(
        labels.some((l) => Object.entries(selector).every(([k, v]) => l[k] === v)),
        `${o.kind} ${o.metadata.name}`,
      ).toBe(true);
    }
  });
});
