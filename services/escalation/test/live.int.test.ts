import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalHash, follow, generateSigningKeyPair } from '@warden/contracts';
import { startTestPublisher, testWorkerConfig, waitUntil, type TestPublisher } from '@warden/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causeOf } from '../../executor/test/helpers.js';
import { stack } from '../../../test/support/index.js';
import { createEscalationService, escalationConfigFrom, type EscalationService } from '../src/index.js';

const token = 'ana-live-approver-token-0123456789';

/** A client of a replica's /events stream: the task ids of every `event: escalation` it received. */
function listen(base: string, signal: AbortSignal): { seen: Set<string>; ready: Promise<void> } {
  const seen = new Set<string>();
  const ready = fetch(`${base}/events`, { headers: { authorization: `Bearer ${token}` }, signal }).then((res) => {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const pump = (): Promise<void> =>
      reader.read().then((chunk) => {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value as Uint8Array, { stream: true });
        const parts = buffer.split('\n\n');
        buffer = parts.pop()!;
        for (const p of parts) {
          const data = /^event: escalation\ndata: (.*)$/m.exec(p);
          if (data) seen.add((JSON.parse(data[1]!) as { taskId: string }).taskId);
        }
        return pump();
      });
    pump().catch(() => undefined); // aborted at the end of the test
  });
  return { seen, ready };
}

describe('live updates with several replicas of the escalation service', () => {
  const replicas: EscalationService[] = [];
  let publisher: TestPublisher;
  const stop = new AbortController();

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-esc-live-'));
    const tokenFile = join(dir, 'tokens.json');
    await writeFile(tokenFile, JSON.stringify([{ token, subject: 'ana', roles: ['approver'], tenants: ['tenant-a'] }]));
    const runtime = testWorkerConfig(stack());
    const loaded = escalationConfigFrom({
      KAFKA_BROKERS: stack().kafkaBrokers,
      ESCALATION_HTTP_PORT: '0',
      ESCALATION_SIGNING_KEY: generateSigningKeyPair('esc-live').signingKeyText,
      ESCALATION_TOKENS_FILE: tokenFile,
      ESCALATION_LIVE_POLL_MS: '200',
    });
    // two replicas of one service: one consumer group, one database, each projecting the partitions it is given
    for (let i = 0; i < 2; i++) {
      const service = createEscalationService({
        config: { ...loaded, runtime: { ...runtime, secretLiterals: loaded.runtime.secretLiterals ?? [] } },
      });
      await service.start();
      replicas.push(service);
    }
    publisher = await startTestPublisher(runtime);
  }, 120_000);

  afterAll(async () => {
    stop.abort();
    await publisher?.close();
    for (const r of replicas) await r.close();
  });

  it("pushes every change to every replica's clients, whichever replica projected it", async () => {
    const clients = replicas.map((r) => {
      const a = r.apiAddress()!;
      return listen(`http://${a.host}:${a.port}`, stop.signal);
    });
    await Promise.all(clients.map((c) => c.ready));
    const tasks = Array.from({ length: 8 }, (_, i) => `live-${i}`);
    for (const taskId of tasks) {
      const args = { n: taskId };
      await publisher.publish(
        follow(
          causeOf(taskId),
          'EscalationRequested',
          {
            escalationId: `${taskId}:a1:guard`,
            source: 'guard',
            reasonCode: 'low_confidence',
            reason: 'confidence under the threshold',
            action: { actionId: 'a1', tool: 'test.echo', args, argsHash: canonicalHash(args) },
            policyVersion: 'default.v1',
            expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
          },
          { producer: 'test' },
        ),
      );
    }
    for (const [i, c] of clients.entries()) {
      await waitUntil(() => tasks.every((t) => c.seen.has(t)), {
        what: `replica ${i}'s client told of every new escalation`,
      });
    }
    expect(clients.map((c) => tasks.filter((t) => c.seen.has(t)).length)).toEqual([8, 8]);
  });
});
