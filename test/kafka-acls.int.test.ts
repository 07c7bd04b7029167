import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY_FILE } from '@warden/policy';
import { createGuardWorker } from '@warden/guard-service';
import {
  createKafka,
  grantKafkaAcls,
  kafkaSecurityOf,
  readKafkaUsersFile,
  type KafkaPrincipal,
  type KafkaUsersFile,
} from '@warden/runtime';
import { createTestTopics, testKafka, testWorkerConfig, type TestEndpoints } from '@warden/runtime/testing';
import type { Kafka } from 'kafkajs';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { stack, unique } from './support/index.js';

/**
 * The local stack's Kafka authenticates each worker as its own principal (SASL/SCRAM-SHA-512) and its ACLs let each
 * write only the topics it produces (ADR 0019). Each case has its allowed twin, so a refusal is the ACL's doing.
 */
const endpoints: TestEndpoints = stack();

/** What a refused request says: kafkajs gives the broker's TOPIC_AUTHORIZATION_FAILED as a type or in its message. */
const REFUSED = /^refused: .*(TOPIC_AUTHORIZATION_FAILED|Topic authorization failed)/;

function refusal(error: unknown): string {
  const e = error as { type?: string; message?: string; cause?: { type?: string } };
  return `refused: ${e.type ?? e.cause?.type ?? ''} ${e.message ?? String(error)}`;
}
const usersFile = endpoints.kafkaUsersFile;

describe.runIf(usersFile !== undefined)('Kafka principals and ACLs of the local stack', () => {
  let users: KafkaUsersFile;
  const prefix = unique('acl');
  const other = unique('acl-other');

  const as = (principal: KafkaPrincipal): Kafka =>
    createKafka(
      endpoints.kafkaBrokers.split(','),
      `acl-test-${principal}`,
      pino({ level: 'silent' }),
      kafkaSecurityOf(users, principal),
    );

  /** Sends one record as `principal`; resolves to 'written', or 'refused: ' and the error's type and message. */
  const write = async (principal: KafkaPrincipal, topic: string): Promise<string> => {
    const producer = as(principal).producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'not an event: the ACL decides first' }] });
      return 'written';
    } catch (error) {
      return refusal(error);
    } finally {
      await producer.disconnect();
    }
  };

  /** The offsets of a topic as `principal`, or the error's type. */
  const describeTopic = async (principal: KafkaPrincipal, topic: string): Promise<string> => {
    const admin = as(principal).admin();
    await admin.connect();
    try {
      await admin.fetchTopicOffsets(topic);
      return 'described';
    } catch (error) {
      return refusal(error);
    } finally {
      await admin.disconnect();
    }
  };

  beforeAll(async () => {
    users = readKafkaUsersFile(usersFile!);
    await createTestTopics(endpoints, prefix);
    await createTestTopics(endpoints, other);
    const admin = testKafka(endpoints).admin();
    await admin.connect();
    try {
      await grantKafkaAcls(admin, prefix); // `other` gets no ACLs: only the admin may touch it
    } finally {
      await admin.disconnect();
    }
  });

  it('the executor cannot write proposals or tasks; it writes tool results and its escalations', async () => {
    expect(await write('executor', `${prefix}.proposals.v1`)).toMatch(REFUSED);
    expect(await write('executor', `${prefix}.tasks.v1`)).toMatch(REFUSED);
    expect(await write('executor', `${prefix}.results.v1`)).toBe('written');
    // The person it asks when a tool's breaker is open or an effect's outcome is unknown: an EscalationRequested,
    // which travels on the verdicts topic. Refused, its chunk was retried until the handling changed (ADR 0019).
    expect(await write('executor', `${prefix}.verdicts.v1`)).toBe('written');
  });

  it('the planner cannot forge tool results or tasks; it writes proposals', async () => {
    expect(await write('planner', `${prefix}.results.v1`)).toMatch(REFUSED);
    expect(await write('planner', `${prefix}.tasks.v1`)).toMatch(REFUSED);
    expect(await write('planner', `${prefix}.proposals.v1`)).toBe('written');
  });

  it('only the guard of the workers that judge writes verdicts; it cannot write proposals or results', async () => {
    expect(await write('guard', `${prefix}.proposals.v1`)).toMatch(REFUSED);
    expect(await write('guard', `${prefix}.results.v1`)).toMatch(REFUSED);
    expect(await write('auditor', `${prefix}.verdicts.v1`)).toMatch(REFUSED);
    expect(await write('guard', `${prefix}.verdicts.v1`)).toBe('written');
  });

  it('a client submits tasks but cannot write verdicts, and cannot see another prefix', async () => {
    expect(await write('client', `${prefix}.verdicts.v1`)).toMatch(REFUSED);
    expect(await write('client', `${prefix}.tasks.v1`)).toBe('written');
    expect(await describeTopic('client', `${prefix}.outcomes.v1`)).toBe('described');
    expect(await describeTopic('client', `${other}.outcomes.v1`)).toMatch(REFUSED);
    expect(await write('client', `${other}.tasks.v1`)).toMatch(REFUSED);
  });

  it('a worker with a wrong password fails to start, saying the authentication failed', async () => {
    const config = testWorkerConfig(endpoints, { topicPrefix: prefix, logLevel: 'silent' });
    const right = kafkaSecurityOf(users, 'guard');
    const guard = createGuardWorker({
      runtime: { ...config, kafkaSecurity: { ...right, sasl: { ...right.sasl!, password: 'not-the-password' } } },
      policySource: JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown,
      escalationTtlMs: 60_000,
    });
    try {
      await expect(guard.start()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/);
    } finally {
      await guard.close();
    }
  });
});
