// The Kubernetes manifests in deploy/kubernetes, checked offline: each object against the
// Kubernetes API's JSON schemas (kubernetes-models), each config they hold against
// driverkit's own config rules, and the wiring between them (names, ports, probes, users).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
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

/** cert-manager's kinds: no JSON schema ships with kubernetes-models, so their shape here. */
class CertManagerObject {
  constructor(private readonly o: Obj) {}
  validate(): void {
    const { kind, spec } = this.o;
    if (kind === 'Issuer') {
      if (!spec.selfSigned && !spec.ca?.secretName) throw new Error('Issuer: selfSigned or ca');
      return;
    }
    if (typeof spec.secretName !== 'string') throw new Error('Certificate: secretName');
    if (!spec.issuerRef?.name || spec.issuerRef.kind !== 'Issuer')
      throw new Error('Certificate: issuerRef');
    const usages = new Set(['server auth', 'client auth', 'digital signature', 'key encipherment']);
    for (const u of spec.usages ?? []) if (!usages.has(u)) throw new Error(`usage ${u}`);
  }
}

const MODELS: Record<string, new (o: Obj) => { validate(): void }> = {
  'cert-manager.io/v1/Issuer': CertManagerObject,
  'cert-manager.io/v1/Certificate': CertManagerObject,
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
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
  [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers].map(
    (c: Obj) => ({ file, deployment: o, c }),
  ),
);
/** Containers that run a driver (the image's entrypoint runs serve; these name the driver). */
const drivers = containers.filter(({ c }) => c.command);

describe('deploy/kubernetes', () => {
  it('has the three topologies: a driver service, the gateway, and sidecars', () => {
    expect(files.sort()).toEqual([
      'certificates.yaml',
      'driver.yaml',
      'gateway.yaml',
      'namespace.yaml',
      'sidecar.yaml',
    ]);
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
    for (const { c } of drivers) {
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

  // What an operator ships (issue 33): each rule below, not only the schemas.
  describe('as an operator would ship it', () => {
    const pods = of('Deployment').map(({ o }) => ({ name: o.metadata.name, d: o }));

    it('no pod mounts a service-account token: none calls the Kubernetes API', () => {
      for (const { name, d } of pods)
        expect(d.spec.template.spec.automountServiceAccountToken, name).toBe(false);
    });

    it('the namespace enforces Pod Security’s restricted profile, which every container meets', () => {
      const ns = of('Namespace')[0].o;
      expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
      for (const { deployment, c } of containers) {
        expect(deployment.spec.template.spec.securityContext.seccompProfile.type).toBe(
          'RuntimeDefault',
        );
        expect(c.securityContext.capabilities.drop, c.name).toEqual(['ALL']);
      }
    });

    it('every pod is selected by a NetworkPolicy that limits both ways', () => {
      const policies = of('NetworkPolicy').map(({ o }) => o);
      for (const { name, d } of pods) {
        const labels = d.spec.template.metadata.labels;
        const mine = policies.filter((p) =>
          Object.entries(p.spec.podSelector.matchLabels).every(([k, v]) => labels[k] === v),
        );
        expect(mine.length, name).toBeGreaterThan(0);
        expect(mine.flatMap((p) => p.spec.policyTypes).sort(), name).toEqual(['Egress', 'Ingress']);
      }
    });

    it('every container has a memory limit, the drivers no more than the 256Mi their budgets are sized for', () => {
      for (const { c } of containers) expect(c.resources?.limits?.memory, c.name).toBeDefined();
      for (const { c } of drivers) expect(c.resources.limits.memory, c.name).toBe('256Mi');
    });

    it('liveness says only that the process is alive: never the health that follows a backend', () => {
      for (const { c } of containers) {
        const live = c.livenessProbe;
        if (live.grpc) expect(live.grpc.service, c.name).toBe('plugin');
        else expect(live.tcpSocket ?? live.exec, c.name).toBeDefined();
      }
    });

    it('drivers keep tini as PID 1; serve runs in production mode', () => {
      for (const { c } of drivers)
        expect(c.command.slice(0, 2), c.name).toEqual(['/usr/bin/tini', '--']);
      for (const { o } of of('ConfigMap'))
        expect(parseToml(o.data['driverkit.toml']).mode, o.metadata.name).toBe('production');
    });

    it('the gateway’s metrics are served and announced for the shipped alerts and dashboard', () => {
      const gateway = pods.find(({ name }) => name === 'driverkit-gateway')!.d;
      const config = parseToml(
        of('ConfigMap').find(({ o }) => o.metadata.name === 'driverkit-gateway')!.o.data[
          'driverkit.toml'
        ],
      ) as Obj;
      const port = Number(/:(\d+)$/.exec(config.gateway.admin_listen)![1]);
      expect(config.gateway.admin_token_file).toBeDefined();
      const annotations = gateway.spec.template.metadata.annotations;
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(Number(annotations['prometheus.io/port'])).toBe(port);
      const c = gateway.spec.template.spec.containers[0];
      expect(c.ports.map((p: Obj) => p.containerPort)).toContain(port);
      // Its server certificate is not the one it shows the driver as a client.
      expect(config.drivers.users.tls_cert).not.toBe(config.gateway.tls_cert);
    });

    it('replicas are spread over nodes; a sidecar driver starts before its host and stops after it', () => {
      for (const { name, d } of pods.filter(({ d }) => d.spec.replicas > 1))
        expect(d.spec.template.spec.affinity?.podAntiAffinity, name).toBeDefined();
      const sidecar = pods.find(({ name }) => name === 'users-app')!.d.spec.template.spec;
      expect(sidecar.initContainers.map((c: Obj) => [c.name, c.restartPolicy])).toEqual([
        ['users', 'Always'],
      ]);
    });

    it('every TLS Secret a pod mounts is written by a cert-manager Certificate, for its one use', () => {
      const certificates = new Map(
        of('Certificate').map(({ o }) => [o.spec.secretName as string, o.spec]),
      );
      const issuers = new Map(of('Issuer').map(({ o }) => [o.metadata.name as string, o.spec]));
      const mounted = pods.flatMap(({ d }) =>
        (d.spec.template.spec.volumes ?? []).flatMap((v: Obj) =>
          v.secret ? [v.secret.secretName as string] : [],
        ),
      );
      // driverkit-admin holds a token, not a certificate: the operator makes it.
      for (const secret of mounted.filter((s: string) => s !== 'driverkit-admin')) {
        const spec = certificates.get(secret);
        expect(spec, `a Certificate writes ${secret}`).toBeDefined();
        // A server certificate is not a client one, and the other way round.
        expect(spec!.usages, secret).toEqual([
          secret.endsWith('-client-tls') ? 'client auth' : 'server auth',
        ]);
        // Signed by the CA issuer, whose own Secret is a CA certificate.
        const issuer = issuers.get(spec!.issuerRef.name)!;
        expect(certificates.get(issuer.ca.secretName)?.isCA, secret).toBe(true);
      }
      // The driver's certificate names what the gateway checks; the gateway's, its Service.
      const gateway = parseToml(
        of('ConfigMap').find(({ o }) => o.metadata.name === 'driverkit-gateway')!.o.data[
          'driverkit.toml'
        ],
      ) as Obj;
      expect(certificates.get('users-driver-tls')!.dnsNames).toContain(
        gateway.drivers.users.tls_server_name,
      );
      const service = of('Service').find(({ o }) => o.metadata.name === 'driverkit-gateway')!.o;
      expect(certificates.get('driverkit-gateway-tls')!.dnsNames).toContain(
        `${service.metadata.name}.${service.metadata.namespace}.svc`,
      );
    });

    it('the metrics port is open to Prometheus alone, the gRPC port to clients', () => {
      const policy = of('NetworkPolicy').find(
        ({ o }) => o.metadata.name === 'driverkit-gateway',
      )!.o;
      const rules = policy.spec.ingress as Obj[];
      const metrics = rules.filter((r) => r.ports.some((p: Obj) => p.port === 9464));
      expect(metrics.length).toBe(1);
      expect(metrics[0].from?.length).toBeGreaterThan(0);
      expect(metrics[0].ports.map((p: Obj) => p.port)).toEqual([9464]);
    });

    it('the image’s base is pinned by digest', () => {
      const dockerfile = readFileSync(join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');
      expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim@sha256:[0-9a-f]{64}$/m);
    });

    it('the image’s build context is the assembled app alone (.dockerignore)', () => {
      const ignore = join(ROOT, '.dockerignore');
      expect(existsSync(ignore)).toBe(true);
      const lines = readFileSync(ignore, 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('#'));
      expect(lines).toEqual(['*', '!.cache/image/app']);
    });
  });
});
