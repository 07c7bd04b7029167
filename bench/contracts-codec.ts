/**
 * Contracts bench: per-event cost of encode + validate + hash (the path every produce takes), against plain
 * JSON.stringify of the same events, measured in the same run. With a registry reachable it also measures the
 * full codec (redaction, validation, canonical JSON, registry framing) and decode. Validation is the compiled check
 * with zod as its fallback (ADR 0011); zod alone is measured too.
 * Run: npm run bench -- contracts   (or: npx tsx --conditions=@warden/source bench/contracts-codec.ts)
 */
import {
  EventCodec,
  MemoryBlobStore,
  canonicalHash,
  createRegistryClient,
  eventSchemas,
  follow,
  generateSigningKeyPair,
  newTask,
  PRODUCER_SIGNATURE_HEADER,
  verifyProducer,
  validateEvent,
  type EncodedEvent,
  type EventDraft,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { readStackEndpoints } from '../infra/stack/endpoints.js';
import { report, timeEach, timeEachAsync } from './support.js';
import { benchPath, benchSetting } from './config.js';

const N = benchSetting('BENCH_EVENTS', 5000);
/**
 * The registry subject prefix (BENCH_SUBJECT_PREFIX, default "warden."): another one keeps the bench's schemas apart
 * from a shared registry's subjects, which other schema versions may hold.
 */
const subjectPrefix = benchPath('BENCH_SUBJECT_PREFIX') ?? 'warden.';

function makeEvents(n: number): EventDraft[] {
  const out: EventDraft[] = [];
  for (let i = 0; i < n; i++) {
    const root = newTask(sampleTask({ goal: `Refund order ${i}` }), {
      tenantId: 'tenant-a',
      taskId: `task-${i}`,
      producer: 'bench',
    });
    const link = { envelope: root, hash: canonicalHash(root) };
    out.push(
      i % 3 === 0
        ? root
        : i % 3 === 1
          ? follow(
              link,
              'ActionProposed',
              {
                actionId: `a-${i}`,
                step: 1,
                tool: 'customers.update',
                args: { collection: 'customers', id: `c-${i}`, set: { status: 'refunded', amountUsd: 25 } },
                argsHash: canonicalHash({ i }),
                reasoning: 'The order is eligible for a refund under policy R-12; the customer confirmed the amount.',
                confidence: { value: 0.91, source: 'structured' },
                claims: [{ text: 'order 1001 belongs to c-42', evidence: [{ kind: 'task_input', ref: '/orderId' }] }],
              },
              { producer: 'bench' },
            )
          : follow(
              link,
              'ToolSucceeded',
              {
                actionId: `a-${i}`,
                tool: 'customers.query',
                effectKey: `task-${i}:a-${i}`,
                result: {
                  rows: Array.from({ length: 5 }, (_, r) => ({
                    id: `c-${r}`,
                    name: `Customer ${r}`,
                    balanceUsd: r * 10.5,
                  })),
                },
                durationMs: 3.2,
              },
              { producer: 'bench' },
            ),
    );
  }
  return out;
}

const events = makeEvents(N);
console.log(`contracts bench: ${N} events (TaskSubmitted, ActionProposed, ToolSucceeded), Node ${process.version}`);
for (let w = 0; w < 2; w++) {
  for (const e of events) {
    validateEvent(e);
    canonicalHash(e);
    JSON.stringify(e);
  }
}

const baseline = report(
  'baseline: JSON.stringify',
  timeEach(N, (i) => void JSON.stringify(events[i])),
);
const zodOnly = report(
  'zod alone',
  timeEach(N, (i) => void eventSchemas[events[i]!.type].safeParse(events[i])),
);
const validate = report(
  'validate (compiled check, zod fallback)',
  timeEach(N, (i) => void validateEvent(events[i])),
);
const hashed = report(
  'canonical form + sha256',
  timeEach(N, (i) => void canonicalHash(events[i])),
);
const both = report(
  'validate + canonical hash',
  timeEach(N, (i) => void canonicalHash(validateEvent(events[i]))),
);
console.log(`ratio validate+hash / JSON.stringify (mean): ${(both.mean / baseline.mean).toFixed(1)}x`);
void validate;
void zodOnly;
void hashed;

const endpoints = readStackEndpoints();
if (endpoints === undefined) {
  console.log('registry not reachable: skipping the full codec (run `npm run stack -- up` to include it)');
} else {
  const codec = new EventCodec({
    registry: createRegistryClient(endpoints.schemaRegistryUrl),
    blobs: new MemoryBlobStore(),
    subjectPrefix,
  });
  await codec.registerAll();
  for (const e of events.slice(0, 500)) await codec.decode((await codec.encode(e)).bytes);
  const encoded: EncodedEvent[] = [];
  const enc = report(
    'codec.encode (redact+validate+canonical+frame)',
    await timeEachAsync(N, async (i) => encoded.push(await codec.encode(events[i]!))),
  );
  const dec = report(
    'codec.decode (frame+schema+validate+hash)',
    await timeEachAsync(N, (i) => codec.decode(encoded[i]!.bytes)),
  );
  console.log(
    `ratio codec.encode / JSON.stringify (mean): ${(enc.mean / baseline.mean).toFixed(1)}x; decode: ${(dec.mean / baseline.mean).toFixed(1)}x`,
  );

  // Producer signatures (ADR 0018): the same codec with a producer key signs each event's hash; a verifier checks it.
  const pair = generateSigningKeyPair('bench-producer');
  const signing = new EventCodec({
    registry: createRegistryClient(endpoints.schemaRegistryUrl),
    blobs: new MemoryBlobStore(),
    subjectPrefix,
    producerKey: pair.signingKey,
  });
  await signing.registerAll();
  for (const e of events.slice(0, 500)) await signing.encode(e);
  const signed: EncodedEvent[] = [];
  const encSigned = report(
    'codec.encode with a producer key (+ Ed25519 sign of the hash)',
    await timeEachAsync(N, async (i) => signed.push(await signing.encode(events[i]!))),
  );
  const keys = new Map([[pair.verifyingKey.keyId, { ...pair.verifyingKey, role: 'planner' as const }]]);
  const check = report(
    `producer check of one event (${PRODUCER_SIGNATURE_HEADER} header: Ed25519 verify)`,
    timeEach(N, (i) => {
      const e = signed[i]!;
      void verifyProducer('ModelCalled', e.hash, e.producerSignature, keys);
    }),
  );
  console.log(
    `producer signature per event: +${(encSigned.p50 - enc.p50).toFixed(1)} us p50 on encode (${((encSigned.p50 / enc.p50 - 1) * 100).toFixed(0)}% of codec.encode), ${check.p50.toFixed(1)} us p50 to verify`,
  );
}
