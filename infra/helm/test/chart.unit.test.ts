/**
 * Renders the Helm chart (infra/helm/warden) with the Helm CLI built from its Go module (infra/tools/install-helm.sh,
 * cached in $WARDEN_CACHE_DIR/bin) and checks the objects an operator relies on: every worker with probes, resources
 * and a non-root, read-only security context; each ScaledObject on the worker's own consumer group and the topics its
 * code consumes; audit topics kept forever; keys only in Secrets.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AUDITOR_NAME, auditorConfigFrom, checkpointTopic } from '@warden/auditor';
import { generateSigningKeyPair } from '@warden/contracts';
import { escalationConfigFrom, escalationConsumes } from '@warden/escalation';
import { executorConsumes, loadExecutorConfig } from '@warden/executor';
import { guardConsumes, loadGuardConfig } from '@warden/guard-service';
import { loadPolicy } from '@warden/policy';
import { loadPlannerConfig, plannerConsumes, tenantBudgetSnapshotTopic, tenantBudgetTopic } from '@warden/planner';
import { TopicKinds, Topics, auditTopicConfig } from '@warden/runtime';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cacheDirFrom } from '../../stack/config.js';

const chartDir = resolve(import.meta.dirname, '../warden');
const productionValues = join(chartDir, 'values-production.yaml');
const prefix = 'warden';
const topics = new Topics(prefix);

/** The topics each Kafka worker's consumer group reads, from the workers' own code. */
const consumedTopics: Readonly<Record<string, readonly string[]>> = {
  planner: topics.forTypes(plannerConsumes),
  guard: topics.forTypes(guardConsumes),
  executor: topics.forTypes(executorConsumes),
  // The auditor's projector subscribes to every topic (services/auditor/src/auditor.ts).
  [AUDITOR_NAME]: topics.all(),
  escalation: topics.forTypes(escalationConsumes),
};

/** Environment variables that hold keys or credentials: never in a ConfigMap or a literal env value. */
const secretEnvNames = [
  'MONGO_URL',
  'OPENAI_API_KEY',
  'AUDITOR_API_KEYS',
  'AUDITOR_CHECKPOINT_KEY',
  'ESCALATION_SIGNING_KEY',
  'ESCALATION_JWT_HS256_SECRET',
  'GUARD_SIGNING_KEY',
] as const;

interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
  readonly data?: Record<string, string>;
  readonly stringData?: Record<string, string>;
}

interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: string | number };
}
interface Container {
  readonly name: string;
  readonly image: string;
  readonly ports?: ReadonlyArray<{ readonly name: string; readonly containerPort: number }>;
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readonly securityContext?: Record<string, unknown>;
  readonly env?: ReadonlyArray<{
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }>;
  readonly envFrom?: ReadonlyArray<{ configMapRef?: { name: string } }>;
}
interface PodSpec {
  readonly containers: readonly Container[];
  readonly securityContext?: Record<string, unknown>;
  readonly terminationGracePeriodSeconds?: number;
  readonly affinity?: { podAntiAffinity?: Record<string, unknown> };
  readonly volumes?: ReadonlyArray<{ name: string; configMap?: { name: string } }>;
}
interface DeploymentSpec {
  readonly replicas?: number;
  readonly selector: { matchLabels: Record<string, string> };
  readonly template: { spec: PodSpec };
}

function helmBinary(): string {
  const helm = join(cacheDirFrom(), 'bin', 'helm');
  if (!existsSync(helm)) {
    throw new Error(`no Helm binary at ${helm}: run infra/tools/install-helm.sh (builds it once from its Go module)`);
  }
  return helm;
}

/** The workers with keyed state (`state: true` in values.yaml): the guard, the executor and the planner. */
const STATEFUL_WORKERS: readonly string[] = ['guard', 'executor', 'planner', 'escalation'];

/** Runs helm; returns its exit status and output. */
function helm(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helmBinary(), args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` with these values files and --set flags; the rendered objects. */
function render(valuesFiles: readonly string[] = [], set: readonly string[] = []): K8sObject[] {
  const r = helm([
    'template',
    'warden',
    chartDir,
    '--namespace',
    'warden',
    ...valuesFiles.flatMap((f) => ['-f', f]),
    ...set.flatMap((s) => ['--set', s]),
  ]);
  expect(r.status, r.stderr).toBe(0);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(r.stdout)) {
    expect(doc.errors, String(doc.errors)).toEqual([]);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

/** The error of a render that must fail. */
function renderError(set: readonly string[]): string {
  const r = helm(['template', 'warden', chartDir, ...set.flatMap((s) => ['--set', s])]);
  expect(r.status, 'the render should have failed').not.toBe(0);
  return r.stderr;
}

const ofKind = (objects: readonly K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
const component = (o: K8sObject): string => o.metadata.labels?.['app.kubernetes.io/component'] ?? '';
const deploymentSpec = (o: K8sObject): DeploymentSpec => o.spec as unknown as DeploymentSpec;

function byComponent(objects: readonly K8sObject[], kind: string): Map<string, K8sObject> {
  return new Map(ofKind(objects, kind).map((o) => [component(o), o]));
}

/** The environment a worker's pod gets from its ConfigMaps. */
function configEnv(objects: readonly K8sObject[], pod: PodSpec): Record<string, string> {
  const maps = new Map(ofKind(objects, 'ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
  const env: Record<string, string> = {};
  for (const from of pod.containers[0]!.envFrom ?? []) {
    const name = from.configMapRef?.name;
    expect(name !== undefined && maps.has(name), `ConfigMap ${name} is rendered`).toBe(true);
    Object.assign(env, maps.get(name!));
  }
  return env;
}

/** Every worker's pod: probes on its own ports, resources, non-root and read-only, drain time respected. */
function checkDeployments(objects: readonly K8sObject[], expected: readonly string[]): void {
  const deployments = byComponent(objects, 'Deployment');
  expect([...deployments.keys()].sort()).toEqual([...expected].sort());
  const pdbs = byComponent(objects, 'PodDisruptionBudget');
  for (const [name, d] of deployments) {
    const spec = deploymentSpec(d);
    const pod = spec.template.spec;
    expect(pod.containers, name).toHaveLength(1);
    const c = pod.containers[0]!;
    expect(c.image, name).toMatch(new RegExp(`/warden-${name}:[^:]+$`));
    const portNames = new Set((c.ports ?? []).map((p) => p.name));
    for (const [probeName, probe] of [
      ['liveness', c.livenessProbe],
      ['readiness', c.readinessProbe],
      ['startup', c.startupProbe],
    ] as const) {
      expect(probe?.httpGet, `${name} ${probeName} probe`).toBeDefined();
      expect(portNames.has(String(probe!.httpGet!.port)), `${name} ${probeName} probe port is a container port`).toBe(
        true,
      );
    }
    expect(c.livenessProbe!.httpGet!.path, name).toBe('/healthz');
    // Workers built on the runtime report readiness (joined their group) on /readyz; the auditor's API listens only
    // once it has joined, so its /healthz is its readiness.
    expect(c.readinessProbe!.httpGet!.path, name).toBe(name === 'auditor' ? '/healthz' : '/readyz');
    expect(c.resources?.requests?.cpu, name).toBeDefined();
    expect(c.resources?.requests?.memory, name).toBeDefined();
    expect(c.resources?.limits?.memory, name).toBeDefined();
    expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
    expect(pod.securityContext?.runAsUser, name).toBeGreaterThan(0);
    expect(c.securityContext, name).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.affinity?.podAntiAffinity, name).toBeDefined();
    const env = configEnv(objects, pod);
    const graceMs = Number(
      name === 'scripted-model' ? env.SCRIPTED_MODEL_SHUTDOWN_GRACE_MS : env.WARDEN_SHUTDOWN_GRACE_MS,
    );
    expect(graceMs, `${name} has a drain time`).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds! * 1000, `${name} outlives its drain`).toBeGreaterThan(graceMs);
    if (name !== 'scripted-model') {
      expect(env.KAFKA_BROKERS, name).toBeDefined();
      expect(env.WARDEN_HTTP_HOST, name).toBe('0.0.0.0');
    }
    const pdb = pdbs.get(name);
    expect(pdb, `${name} has a PodDisruptionBudget`).toBeDefined();
    expect((pdb!.spec as { selector: unknown }).selector).toEqual(spec.selector);
  }
}

describe('the Helm chart, default values', () => {
  const objects = render();

  it('passes helm lint', () => {
    const r = helm(['lint', chartDir, '--strict']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('runs every worker and the scripted model with probes, resources, a non-root read-only pod and its drain time', () => {
    checkDeployments(objects, ['planner', 'guard', 'executor', 'auditor', 'escalation', 'scripted-model']);
  });

  it('scales nothing on lag (fixed replicas) and creates no Secret: keys come from an existing one', () => {
    expect(ofKind(objects, 'ScaledObject')).toEqual([]);
    expect(ofKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(ofKind(objects, 'Secret')).toEqual([]);
    for (const d of ofKind(objects, 'Deployment')) {
      expect(deploymentSpec(d).replicas, d.metadata.name).toBe(1);
      for (const e of deploymentSpec(d).template.spec.containers[0]!.env ?? []) {
        expect(e.valueFrom?.secretKeyRef?.name, e.name).toBe('warden-secrets');
      }
    }
  });

  it('points the planner at the scripted model Service', () => {
    const deployments = byComponent(objects, 'Deployment');
    const env = configEnv(objects, deploymentSpec(deployments.get('planner')!).template.spec);
    const service = byComponent(objects, 'Service').get('scripted-model');
    expect(service).toBeDefined();
    expect(env.OPENAI_BASE_URL).toBe(`http://${service!.metadata.name}:8787/v1`);
  });
});

describe('the Helm chart, production values', () => {
  const objects = render([productionValues]);

  it('passes helm lint', () => {
    const r = helm(['lint', chartDir, '--strict', '-f', productionValues]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('runs every worker (no scripted model) with probes, resources, a non-root read-only pod and its drain time', () => {
    checkDeployments(objects, ['planner', 'guard', 'executor', 'auditor', 'escalation']);
  });

  it('scales each worker with a ScaledObject on its own consumer group and the topics its code consumes, up to the partition count', () => {
    const scaled = byComponent(objects, 'ScaledObject');
    const deployments = byComponent(objects, 'Deployment');
    // The auditor keeps one replica: its chain state spans every partition.
    expect([...scaled.keys()].sort()).toEqual(['escalation', 'executor', 'guard', 'planner']);
    const partitions = (ofKind(objects, 'KafkaTopic')[0]!.spec as { partitions: number }).partitions;
    for (const [name, so] of scaled) {
      const spec = so.spec as {
        scaleTargetRef: { name: string };
        maxReplicaCount: number;
        minReplicaCount: number;
        triggers: Array<{ type: string; metadata: Record<string, string> }>;
      };
      expect(spec.scaleTargetRef.name).toBe(deployments.get(name)!.metadata.name);
      expect(deploymentSpec(deployments.get(name)!).replicas, `${name}: KEDA owns the replica count`).toBeUndefined();
      expect(spec.maxReplicaCount, name).toBeLessThanOrEqual(partitions);
      expect(spec.minReplicaCount, name).toBeGreaterThanOrEqual(1);
      expect(new Set(spec.triggers.map((t) => t.type))).toEqual(new Set(['kafka']));
      expect(new Set(spec.triggers.map((t) => t.metadata.consumerGroup))).toEqual(new Set([`${prefix}.${name}`]));
      expect(spec.triggers.map((t) => t.metadata.topic).sort(), name).toEqual([...consumedTopics[name]!].sort());
    }
    expect(deploymentSpec(deployments.get(AUDITOR_NAME)!).replicas).toBe(1);
  });

  it('defines every topic with infinite retention, no compaction, replication 3 and min.insync.replicas 2', () => {
    const all = ofKind(objects, 'KafkaTopic').map(
      (t) => t.spec as { topicName: string; partitions: number; replicas: number; config: Record<string, unknown> },
    );
    // The stateful workers' keyed state (ADR 0027-0029) are the compacted topics: not audit topics.
    const stateTopics = new Set(STATEFUL_WORKERS.map((w) => topics.stateOf(w)));
    const state = all.filter((t) => stateTopics.has(t.topicName));
    expect(state.map((t) => t.topicName).sort()).toEqual([...stateTopics].sort());
    for (const t of state) expect(t.config['cleanup.policy'], t.topicName).toBe('compact');
    // The tenant budget log's snapshots (ADR 0035): compacted, one partition.
    const snapshots = all.find((t) => t.topicName === tenantBudgetSnapshotTopic(prefix));
    expect(snapshots?.config['cleanup.policy']).toBe('compact');
    expect(snapshots?.partitions).toBe(1);
    const kafkaTopics = all.filter((t) => !stateTopics.has(t.topicName) && t !== snapshots);
    expect(kafkaTopics.map((t) => t.topicName).sort()).toEqual(
      [...topics.all(), checkpointTopic(prefix), tenantBudgetTopic(prefix)].sort(),
    );
    // the tenant budget log (ADR 0032): kept like an audit topic, timestamped by the broker
    const budgets = kafkaTopics.find((t) => t.topicName === tenantBudgetTopic(prefix));
    expect(budgets?.config['message.timestamp.type']).toBe('LogAppendTime');
    for (const t of kafkaTopics) {
      expect(t.config['retention.ms'], t.topicName).toBe(-1);
      for (const [key, value] of Object.entries(auditTopicConfig)) expect(String(t.config[key]), key).toBe(value);
      expect(t.replicas, t.topicName).toBe(3);
      expect(t.config['min.insync.replicas'], t.topicName).toBe(2);
    }
  });

  it('mounts the guard policy from a ConfigMap, a policy the guard loads', () => {
    const guard = deploymentSpec(byComponent(objects, 'Deployment').get('guard')!).template.spec;
    const file = configEnv(objects, guard).GUARD_POLICY_FILE;
    expect(file).toBe('/etc/warden/policies/production.v1.json');
    const volume = guard.volumes?.find((v) => v.configMap !== undefined);
    const policies = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name === volume?.configMap?.name);
    const text = policies?.data?.['production.v1.json'];
    expect(text).toBeDefined();
    const policy = loadPolicy(JSON.parse(text!));
    expect(policy.version).toBe('production.v1');
  });

  it('routes the escalation page and the audit API through the ingress to named Service ports', () => {
    const [ingress] = ofKind(objects, 'Ingress');
    const services = new Map(ofKind(objects, 'Service').map((s) => [s.metadata.name, s]));
    const rules = (
      ingress!.spec as {
        rules: Array<{
          host: string;
          http: { paths: Array<{ backend: { service: { name: string; port: { name: string } } } }> };
        }>;
      }
    ).rules;
    expect(rules.map((r) => r.host).sort()).toEqual(['audit.warden.example.com', 'escalation.warden.example.com']);
    for (const rule of rules) {
      const backend = rule.http.paths[0]!.backend.service;
      const service = services.get(backend.name);
      expect(service, backend.name).toBeDefined();
      const ports = (service!.spec as { ports: Array<{ name: string }> }).ports.map((p) => p.name);
      expect(ports).toContain(backend.port.name);
    }
  });

  it('isolates every worker with a NetworkPolicy', () => {
    const policies = byComponent(objects, 'NetworkPolicy');
    expect([...policies.keys()].sort()).toEqual(['auditor', 'escalation', 'executor', 'guard', 'planner']);
    for (const [name, p] of policies) {
      expect((p.spec as { policyTypes: string[] }).policyTypes, name).toEqual(['Ingress', 'Egress']);
    }
  });
});

describe('the Helm chart, keys and tokens', () => {
  const decisionKeys = generateSigningKeyPair('k1');
  const guardKeys = generateSigningKeyPair('guard-k1');
  const secretValues = {
    'mongo-url': 'mongodb://warden:SENTINEL-mongo-password@mongo:27017/',
    'openai-api-key': 'SENTINEL-openai-key-0123456789',
    'decision-public-keys': decisionKeys.verifyingKeyText,
    'escalation-signing-key': decisionKeys.signingKeyText,
    'guard-signing-key': guardKeys.signingKeyText,
    'guard-public-keys': guardKeys.verifyingKeyText,
    'escalation-jwt-secret': 'SENTINEL-jwt-secret-0123456789abcdef0123',
    'auditor-api-keys': 'acme:SENTINEL-audit-key-0123',
    'auditor-checkpoint-key': 'SENTINEL-checkpoint-key-0123456789abcdef',
  };
  const objects = render(
    [productionValues],
    ['secrets.create=true', ...Object.entries(secretValues).map(([k, v]) => `secrets.values.${k}=${v}`)],
  );

  it('puts secret values only in the Secret, never in a ConfigMap or a literal env value', () => {
    const [secret, ...more] = ofKind(objects, 'Secret');
    expect(more).toEqual([]);
    expect(secret!.stringData).toEqual(secretValues);
    const elsewhere = JSON.stringify(objects.filter((o) => o.kind !== 'Secret'));
    for (const value of Object.values(secretValues)) expect(elsewhere).not.toContain(value);
    for (const cm of ofKind(objects, 'ConfigMap')) {
      for (const name of secretEnvNames) expect(Object.keys(cm.data ?? {}), cm.metadata.name).not.toContain(name);
    }
    for (const d of ofKind(objects, 'Deployment')) {
      for (const e of deploymentSpec(d).template.spec.containers[0]!.env ?? []) {
        expect(e.value, `${d.metadata.name} ${e.name}`).toBeUndefined();
        expect(e.valueFrom?.secretKeyRef?.name).toBe(secret!.metadata.name);
      }
    }
  });

  it('gives each worker an environment its own config.ts accepts', () => {
    const loaders: Record<string, (env: Record<string, string>) => unknown> = {
      planner: loadPlannerConfig,
      // The policy file is checked on its own above; here the mount path does not exist.
      guard: (env) => loadGuardConfig({ ...env, GUARD_POLICY_FILE: undefined }),
      executor: loadExecutorConfig,
      auditor: auditorConfigFrom,
      escalation: escalationConfigFrom,
    };
    const secretByKey: Record<string, string> = secretValues;
    for (const d of ofKind(objects, 'Deployment')) {
      const load = loaders[component(d)];
      if (load === undefined) continue;
      const pod = deploymentSpec(d).template.spec;
      const env = configEnv(objects, pod);
      for (const e of pod.containers[0]!.env ?? []) {
        const key = e.valueFrom?.secretKeyRef?.key;
        if (key !== undefined) env[e.name] = secretByKey[key]!;
      }
      expect(() => load(env), component(d)).not.toThrow();
    }
  });

  it("mounts the guard's private key in the guard alone, its public keys in the executor", () => {
    const holders = (key: string) =>
      ofKind(objects, 'Deployment')
        .filter((d) =>
          (deploymentSpec(d).template.spec.containers[0]!.env ?? []).some(
            (e) => e.valueFrom?.secretKeyRef?.key === key,
          ),
        )
        .map(component);
    expect(holders('guard-signing-key')).toEqual(['guard']);
    expect(holders('guard-public-keys')).toEqual(['executor']);
  });

  it('refuses a key given as a plain setting', () => {
    expect(renderError(['workers.planner.env.OPENAI_API_KEY=sk-oops'])).toContain(
      'OPENAI_API_KEY is secret: put it in the Secret',
    );
    expect(renderError(['config.env.MONGO_URL=mongodb://u:p@h/'])).toContain('MONGO_URL is secret');
  });
});

describe('the Helm chart, other settings', () => {
  it('refuses more replicas than partitions, and a second auditor', () => {
    expect(renderError(['autoscaling.mode=keda', 'workers.guard.autoscaling.maxReplicas=7'])).toContain(
      'workers.guard.autoscaling.maxReplicas (7) exceeds topics.partitions (6)',
    );
    expect(renderError(['workers.auditor.replicas=2'])).toContain('workers.auditor.replicas must be 1');
  });

  it("checks values against values.schema.json, whose topic kinds are the runtime's and the auditor's", () => {
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as {
      definitions: { topicKind: { enum: string[] } };
    };
    const checkpoints = checkpointTopic(prefix).split('.')[1]!;
    expect(schema.definitions.topicKind.enum.sort()).toEqual([...TopicKinds, checkpoints].sort());
    expect(renderError(['workers.guard.replica=2'])).toMatch(/replica/);
    expect(renderError(['workers.guard.consumes={proposal}'])).toMatch(/consumes/);
    expect(renderError(['topics.minInsyncReplicas=2'])).toContain('topics.minInsyncReplicas exceeds topics.replicas');
  });

  it('scales on an external lag metric per consumed topic with autoscaling.mode=hpa', () => {
    const objects = render([productionValues], ['autoscaling.mode=hpa']);
    expect(ofKind(objects, 'ScaledObject')).toEqual([]);
    const hpas = byComponent(objects, 'HorizontalPodAutoscaler');
    expect([...hpas.keys()].sort()).toEqual(['escalation', 'executor', 'guard', 'planner']);
    for (const [name, hpa] of hpas) {
      const metrics = (
        hpa.spec as { metrics: Array<{ external: { metric: { selector: { matchLabels: Record<string, string> } } } }> }
      ).metrics.map((m) => m.external.metric.selector.matchLabels);
      expect(new Set(metrics.map((l) => l.consumergroup))).toEqual(new Set([`${prefix}.${name}`]));
      expect(metrics.map((l) => l.topic).sort(), name).toEqual([...consumedTopics[name]!].sort());
    }
  });

  it('gives each worker a KafkaUser that reads what it consumes and may delete or alter nothing', () => {
    const objects = render([productionValues], ['kafkaUsers.enabled=true']);
    const users = byComponent(objects, 'KafkaUser');
    expect([...users.keys()].sort()).toEqual(['auditor', 'escalation', 'executor', 'guard', 'planner']);
    for (const [name, user] of users) {
      const acls = (
        user.spec as {
          authorization: { acls: Array<{ resource: { type: string; name?: string }; operations: string[] }> };
        }
      ).authorization.acls;
      const reads = acls
        .filter((a) => a.resource.type === 'topic' && a.operations.includes('Read'))
        .map((a) => a.resource.name);
      const own = STATEFUL_WORKERS.includes(name) ? [topics.stateOf(name)] : []; // its keyed state (ADR 0027)
      // the tenant budget log (ADR 0032) and its snapshots (ADR 0035)
      if (name === 'planner') own.push(tenantBudgetTopic(prefix), tenantBudgetSnapshotTopic(prefix));
      expect(reads.sort(), name).toEqual([...consumedTopics[name]!, ...own].sort());
      const group = acls.find((a) => a.resource.type === 'group');
      expect(group?.resource.name, name).toBe(`${prefix}.${name}`);
      for (const acl of acls) {
        for (const op of ['Delete', 'Alter', 'AlterConfigs', 'All']) expect(acl.operations, name).not.toContain(op);
      }
    }
  });
});
