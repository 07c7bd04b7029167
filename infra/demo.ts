/**
 * Warden's main job on a fresh machine: bring the local stack up (or use KAFKA_BROKERS / SCHEMA_REGISTRY_URL /
 * MONGO_URL), then run the agent loop offline on the bundled scripted model and show what Warden did: the planner,
 * the guard, the executor and the hash-chained audit trail, for a task that goes well, three that must not, and one
 * a person approves through the escalation service's API.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { verifyChain, type EventDataInput } from '@warden/contracts';
import { describeEvent as describe } from '../cli/src/format.js';
import { startPipeline } from './pipeline.js';
import { readStackEndpoints } from './stack/endpoints.js';

const root = resolve(import.meta.dirname, '..');
const say = (line: string): void => void process.stdout.write(`${line}\n`);

say(
  '== Warden demo: bringing the local stack up (the first run downloads and builds; later runs reuse ~/.cache/warden)',
);
const up = spawnSync(process.execPath, ['--import', 'tsx', resolve(root, 'infra/stack/stack.ts'), 'up'], {
  cwd: root,
  stdio: 'inherit',
});
if (up.status !== 0) {
  process.stderr.write('demo: the local stack did not come up; see above, or run `npm run stack -- status`\n');
  process.exit(1);
}
const endpoints = readStackEndpoints();
if (endpoints === undefined) {
  process.stderr.write('demo: no stack endpoints after `stack up`\n');
  process.exit(1);
}
say(`kafka ${endpoints.kafkaBrokers} | registry ${endpoints.schemaRegistryUrl} | mongodb ${endpoints.mongoUrl}`);
say(
  '== starting the scripted model, planner, guard, executor and escalation service (in this process, on their own topics)',
);
const pipeline = await startPipeline(endpoints, 'error');

const tasks: Array<{
  id: string;
  scenario: string;
  title: string;
  data: Partial<EventDataInput<'TaskSubmitted'>>;
  ends: string[];
  /** A person approves each escalation of the task through the people's API. */
  approve?: boolean;
}> = [
  {
    id: `refund-${Date.now()}`,
    scenario: 'pipeline-refund',
    title: 'A grounded refund (should complete)',
    data: {
      goal: 'Refund order ord_7731 of customer cus_1042: 42.50 USD for a damaged item.',
      input: {
        customerId: 'cus_1042',
        orderId: 'ord_7731',
        amountUsd: 42.5,
        note: 'api_key=sk-demoSECRET0123456789abcdef',
      },
      scope: { tools: ['customers.query', 'payments.refund'], resources: { collections: ['customers'] } },
    },
    ends: ['TaskCompleted', 'TaskFailed', 'TaskHalted', 'EscalationRequested'],
  },
  {
    id: `creep-${Date.now()}`,
    scenario: 'scope-creep',
    title: '"Clean up the data": a delete that would match every customer (should stop)',
    data: {
      goal: 'Clean up the customer data',
      input: {},
      scope: { tools: ['customers.query', 'customers.delete'], resources: { collections: ['customers'] } },
    },
    ends: ['EscalationRequested', 'ActionRejected', 'TaskHalted'],
  },
  {
    id: `hallucination-${Date.now()}`,
    scenario: 'hallucinated-id',
    title: 'A confident update of an id that appears nowhere (should stop)',
    data: {
      goal: "Suspend Jane Doe's account (jane.doe@example.com).",
      input: { email: 'jane.doe@example.com', status: 'suspended' },
      scope: { tools: ['customers.query', 'customers.update'], resources: { collections: ['customers'] } },
    },
    ends: ['EscalationRequested', 'ActionRejected', 'TaskHalted'],
  },
  {
    id: `loop-${Date.now()}`,
    scenario: 'retry-loop',
    title: 'A broken call retried forever (should halt)',
    data: {
      goal: 'Check the status page for the current incident',
      input: { url: 'https://status.example.com/api/v1/incidents/current' },
      scope: { tools: ['http.get'], resources: { hosts: ['status.example.com'] } },
    },
    ends: ['TaskHalted', 'TaskCompleted', 'TaskFailed'],
  },
  {
    id: `approval-${Date.now()}`,
    scenario: 'low-confidence-delete',
    title: 'A low-confidence delete, escalated, then approved by a person through the API (should complete)',
    data: {
      goal: 'Delete the duplicate account of j.doe@example.com (cus_2291)',
      input: { email: 'j.doe@example.com', customerId: 'cus_2291' },
      scope: { tools: ['customers.query', 'customers.delete'], resources: { collections: ['customers'] } },
    },
    ends: ['TaskCompleted', 'TaskFailed', 'TaskHalted'],
    approve: true,
  },
];

let ok = true;
try {
  for (const t of tasks) {
    say(`\n== ${t.title}\n   task ${t.id}, model scripted:${t.scenario}`);
    const submitted = await pipeline.submit(t.id, t.scenario, t.data);
    if (submitted.redactions > 0)
      say(`   (${submitted.redactions} secret(s) in the task redacted before it reached Kafka)`);
    const approved = new Set<string>();
    let end = await pipeline.waitFor(
      t.id,
      (e) => t.ends.includes(e.type) || (t.approve === true && e.type === 'EscalationRequested'),
    );
    while (t.approve === true && end.type === 'EscalationRequested') {
      approved.add(end.data.escalationId);
      say(`   escalated (${end.data.reasonCode}); a person approves it at ${pipeline.people.url}`);
      await pipeline.approve(t.id, end.data.escalationId, 'checked: cus_2291 is the duplicate');
      end = await pipeline.waitFor(
        t.id,
        (e) => t.ends.includes(e.type) || (e.type === 'EscalationRequested' && !approved.has(e.data.escalationId)),
      );
    }
    for (const e of await pipeline.waitForWholeChain(t.id))
      say(`   ${String(e.seq).padStart(2)} ${e.producer.split('@')[0]!.padEnd(8)} ${e.type.padEnd(19)} ${describe(e)}`);
    const envelopes = pipeline.events.messages
      .filter((m) => m.decoded?.event.taskId === t.id)
      .map((m) => m.decoded!.envelope);
    const chain = verifyChain(envelopes);
    say(
      `   -> ${end.type}; audit chain ${chain.ok ? `ok (${chain.count} events)` : `BROKEN: ${chain.firstBreak.detail}`}`,
    );
    ok &&= chain.ok;
  }
  const refunds = await pipeline.db.collection('refunds').countDocuments();
  const customers = await pipeline.db.collection('customers').countDocuments();
  const leaked = pipeline.events.messages.some((m) => m.message.value?.toString().includes('sk-demoSECRET'));
  say(
    `\nstores: ${refunds} refund recorded, ${customers} of 33 customers still there (the approved duplicate deleted); secret in the log: ${leaked ? 'LEAKED' : 'no (redacted)'}`,
  );
  ok &&= refunds === 1 && customers === 32 && !leaked;
  say(`The people's API (escalations, approve, deny; OpenAPI at /openapi.json): ${pipeline.people.url}`);
  say('The stack keeps running for the next demo or test run; stop it with: npm run stack -- down');
} finally {
  await pipeline.close();
}
process.exit(ok ? 0 : 1);
