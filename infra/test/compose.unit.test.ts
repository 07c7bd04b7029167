/**
 * docker-compose.yml cannot be run here (no Docker engine, and the docker client has no compose plugin), so its
 * structure is checked instead: every worker built from its Dockerfile target, wired to the stack's in-network
 * endpoints, read-only, with a health check on its own port and longer to stop than its drain; and each worker's
 * environment, as Compose would interpolate it, is accepted by that worker's own config.ts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { auditorConfigFrom } from '@warden/auditor';
import { generateSigningKeyPair } from '@warden/contracts';
import { escalationConfigFrom } from '@warden/escalation';
import { loadExecutorConfig } from '@warden/executor';
import { loadGuardConfig } from '@warden/guard-service';
import { loadPlannerConfig } from '@warden/planner';
import { loadConfig as loadScriptedModelConfig } from '@warden/scripted-model';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '../..');

interface ComposeService {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly target: string };
  readonly ports?: readonly string[];
  readonly environment?: Readonly<Record<string, string | number>>;
  readonly depends_on?: Readonly<Record<string, { readonly condition: string }>>;
  readonly healthcheck?: { readonly test: readonly string[] };
  readonly read_only?: boolean;
  readonly tmpfs?: readonly string[];
  readonly stop_grace_period?: string;
}

const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');

/** `${NAME:-default}` as Compose interpolates it with NAME unset. */
function interpolate(value: string | number): string {
  return String(value).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
}

function envOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(v)]));
}

function seconds(duration: string | undefined): number {
  const m = /^(\d+)s$/.exec(duration ?? '');
  expect(m, `a duration in seconds: ${duration}`).not.toBeNull();
  return Number(m![1]);
}

/** Each worker and the port its health check (and /healthz) is served on. */
const workers: Readonly<
  Record<string, { readonly healthPort: number; readonly check: (env: Record<string, string>) => unknown }>
> = {
  planner: { healthPort: 9464, check: (env) => loadPlannerConfig(env) },
  guard: { healthPort: 9464, check: (env) => loadGuardConfig(env) },
  executor: { healthPort: 9464, check: (env) => loadExecutorConfig(env) },
  auditor: { healthPort: 8090, check: (env) => auditorConfigFrom(env) },
  // Its keys come from the environment (empty in the file): checked with a generated pair, as a user sets them.
  escalation: {
    healthPort: 9464,
    check: (env) =>
      escalationConfigFrom({
        ...env,
        ESCALATION_SIGNING_KEY: generateSigningKeyPair('compose').signingKeyText,
        ESCALATION_JWT_HS256_SECRET: 'compose-test-secret-0123456789abcdef',
      }),
  },
  'scripted-model': { healthPort: 8787, check: (env) => loadScriptedModelConfig(env) },
};

describe('docker-compose.yml', () => {
  it('brings up the stack and every worker', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['kafka', 'schema-registry', 'mongo', ...Object.keys(workers)].sort(),
    );
  });

  for (const [name, spec] of Object.entries(workers)) {
    it(`builds ${name} from its Dockerfile target and runs it read-only with a health check and a drain`, () => {
      const s = compose.services[name]!;
      expect(s.build).toEqual({ context: '.', target: name });
      expect(dockerfile).toMatch(new RegExp(`^FROM runtime AS ${name}$`, 'm'));
      expect(s.read_only).toBe(true);
      expect(s.tmpfs).toContain('/tmp');
      expect(s.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${spec.healthPort}/healthz`);
      const env = envOf(s);
      const graceMs = Number(
        name === 'scripted-model' ? env.SCRIPTED_MODEL_SHUTDOWN_GRACE_MS : env.WARDEN_SHUTDOWN_GRACE_MS,
      );
      expect(graceMs).toBeGreaterThan(0);
      expect(seconds(s.stop_grace_period) * 1000).toBeGreaterThan(graceMs);
      expect(() => spec.check(env)).not.toThrow();
      if (name === 'scripted-model') return;
      expect(s.depends_on?.kafka).toEqual({ condition: 'service_healthy' });
      expect(Object.keys(s.depends_on ?? {})).toEqual(expect.arrayContaining(['schema-registry', 'mongo']));
      expect(env.KAFKA_BROKERS).toBe('kafka:29092');
      expect(env.SCHEMA_REGISTRY_URL).toBe('http://schema-registry:8080/apis/ccompat/v7');
      expect(env.MONGO_URL).toBe('mongodb://mongo:27017/');
      expect(env.WARDEN_HTTP_HOST).toBe('0.0.0.0');
      expect(env.WARDEN_HTTP_PORT).toBe('9464');
    });
  }

  it("reaches Kafka on the broker's in-network listener", () => {
    const kafka = envOf(compose.services.kafka!);
    expect(kafka.KAFKA_ADVERTISED_LISTENERS).toContain('DOCKER://kafka:29092');
    expect(compose.services['schema-registry']!.ports).toContain('127.0.0.1:8081:8080');
  });

  it('publishes the escalation page and the audit API, on loopback only, each port once', () => {
    expect(compose.services.escalation!.ports).toEqual(['127.0.0.1:8090:8090']);
    expect(envOf(compose.services.escalation!).ESCALATION_HTTP_PORT).toBe('8090');
    expect(compose.services.auditor!.ports).toEqual(['127.0.0.1:8091:8090']);
    const published = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    for (const p of published) expect(p).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    const hostPorts = published.map((p) => p.split(':')[1]);
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it("gives the guard's private key to the guard alone and its public keys to the executor", () => {
    const holders = (name: string) =>
      Object.entries(compose.services)
        .filter(([, s]) => Object.hasOwn(s.environment ?? {}, name))
        .map(([service]) => service);
    expect(holders('GUARD_SIGNING_KEY')).toEqual(['guard']);
    expect(holders('WARDEN_GUARD_PUBLIC_KEYS')).toEqual(['executor']);
  });

  it('points the planner at the scripted model by default', () => {
    expect(envOf(compose.services.planner!).OPENAI_BASE_URL).toBe('http://scripted-model:8787/v1');
    expect(compose.services.planner!.depends_on?.['scripted-model']).toEqual({ condition: 'service_healthy' });
  });
});
