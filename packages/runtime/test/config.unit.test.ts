import { eventTypes, generateSigningKeyPair } from '@warden/contracts';
import {
  ConfigError,
  TopicKinds,
  Topics,
  WorkerEnv,
  auditTopicConfig,
  loadConfig,
  runtimeConfigFrom,
  topicKindOf,
} from '@warden/runtime';
import { describe, expect, it } from 'vitest';

describe('loadConfig', () => {
  it('gives sane defaults for an empty environment', () => {
    const env = loadConfig(WorkerEnv, {});
    expect(env.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(env.WARDEN_MAX_ATTEMPTS).toBe(5);
    const runtime = runtimeConfigFrom(env);
    expect(runtime).toMatchObject({
      topicPrefix: 'warden',
      subjectPrefix: 'warden.',
      concurrency: 3,
      httpHost: '127.0.0.1',
      batchSize: 2_000,
      commitIntervalMs: 100,
    });
  });

  it('parses lists, numbers and regular expressions', () => {
    const env = loadConfig(WorkerEnv, {
      KAFKA_BROKERS: 'a:1, b:2',
      WARDEN_CONCURRENCY: '8',
      WARDEN_REDACT_PATTERNS: 'INT-[0-9]+;;acct_[a-z]+',
      UNRELATED: 'ignored',
    });
    expect(env.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(env.WARDEN_CONCURRENCY).toBe(8);
    expect(env.WARDEN_REDACT_PATTERNS.map((r) => r.source)).toEqual(['INT-[0-9]+', 'acct_[a-z]+']);
  });

  it('reads the public keys that verify decisions, fails closed without them, and refuses the retired HMAC keys', () => {
    const pair = generateSigningKeyPair('esc-1');
    const runtime = runtimeConfigFrom(loadConfig(WorkerEnv, { WARDEN_DECISION_PUBLIC_KEYS: pair.verifyingKeyText }));
    expect([...(runtime.decisionTrust?.keys.keys() ?? [])]).toEqual(['esc-1']);
    expect(runtime.decisionTrust?.insecureAcceptUnsigned).toBe(false);
    const none = runtimeConfigFrom(loadConfig(WorkerEnv, {})).decisionTrust;
    expect(none?.keys.size).toBe(0);
    expect(none?.insecureAcceptUnsigned).toBe(false);
    const insecure = loadConfig(WorkerEnv, { WARDEN_INSECURE_UNSIGNED_DECISIONS: 'true' });
    expect(runtimeConfigFrom(insecure).decisionTrust?.insecureAcceptUnsigned).toBe(true);
    expect(() => loadConfig(WorkerEnv, { WARDEN_DECISION_PUBLIC_KEYS: 'esc-1:c2hvcnQ=' })).toThrow(
      /WARDEN_DECISION_PUBLIC_KEYS: verifying key esc-1: not an SPKI DER public key/,
    );
    expect(() => loadConfig(WorkerEnv, { WARDEN_DECISION_PUBLIC_KEYS: pair.signingKeyText })).toThrow(
      /WARDEN_DECISION_PUBLIC_KEYS/,
    );
    expect(() => loadConfig(WorkerEnv, { WARDEN_APPROVAL_KEYS: `k:${Buffer.alloc(32).toString('base64')}` })).toThrow(
      /WARDEN_APPROVAL_KEYS: decisions are signed with Ed25519 now/,
    );
  });

  it('names every bad variable in one ConfigError', () => {
    let error: unknown;
    try {
      loadConfig(WorkerEnv, {
        KAFKA_BROKERS: 'no-port',
        WARDEN_CONCURRENCY: '0',
        WARDEN_COMMIT_INTERVAL_MS: '0',
        MONGO_URL: 'postgres://x',
        WARDEN_REDACT_PATTERNS: '([',
        LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of [
      'KAFKA_BROKERS',
      'WARDEN_CONCURRENCY',
      'WARDEN_COMMIT_INTERVAL_MS',
      'MONGO_URL',
      'WARDEN_REDACT_PATTERNS',
      'LOG_LEVEL',
    ]) {
      expect(message).toContain(name);
    }
    expect((error as ConfigError).code).toBe('WARDEN_RUNTIME_CONFIG');
    expect((error as ConfigError).retryable).toBe(false);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig(WorkerEnv, { WARDEN_CONCURRENCY: '' }).WARDEN_CONCURRENCY).toBe(3);
  });
});

describe('Topics', () => {
  it('routes every event type to one of the few versioned topics', () => {
    const topics = new Topics('warden');
    for (const type of eventTypes) {
      expect(TopicKinds).toContain(topicKindOf[type]);
      expect(topics.forType(type)).toMatch(/^warden\.[a-z]+\.v1$/);
    }
    expect(topics.all()).toHaveLength(TopicKinds.length);
    expect(topics.forType('DeadLettered')).toBe('warden.dlq.v1');
    expect(topics.forTypes(['ActionProposed', 'AnswerProposed'])).toEqual(['warden.proposals.v1']);
  });

  it('keeps audit topics forever and never compacts them', () => {
    expect(auditTopicConfig).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': '-1', 'retention.bytes': '-1' });
  });

  it('passes TLS and SASL settings through for a remote cluster, and refuses a mechanism without credentials', () => {
    expect(runtimeConfigFrom(loadConfig(WorkerEnv, {})).kafkaSecurity).toBeUndefined();
    const remote = runtimeConfigFrom(
      loadConfig(WorkerEnv, {
        KAFKA_BROKERS: 'broker.example.com:9096',
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'warden',
        KAFKA_SASL_PASSWORD: 'hunter2hunter2',
      }),
    );
    expect(remote.kafkaSecurity).toEqual({
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'warden', password: 'hunter2hunter2' },
    });
    expect(runtimeConfigFrom(loadConfig(WorkerEnv, { KAFKA_SSL_CA_FILE: '/etc/ca.pem' })).kafkaSecurity).toEqual({
      ssl: true,
      caFile: '/etc/ca.pem',
    });
    expect(() => runtimeConfigFrom(loadConfig(WorkerEnv, { KAFKA_SASL_MECHANISM: 'plain' }))).toThrow(
      /KAFKA_SASL_MECHANISM plain needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    );
    expect(() => loadConfig(WorkerEnv, { KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(ConfigError);
  });
});
