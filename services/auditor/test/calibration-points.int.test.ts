import { testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { AuditStore, createAuditor, rebuildProjection, type Auditor } from '../src/index.js';
import { auditorTestConfig, encodeChain, fullTaskSteps, startWire, type TestWire } from './support.js';

describe("the auditor's projection of labelled points (real stack)", () => {
  const runtime = testWorkerConfig(stack());
  const config = auditorTestConfig(runtime);
  let wire: TestWire;
  let auditor: Auditor;

  afterAll(async () => {
    await auditor?.close();
    await wire?.close();
  });

  it('writes a labelled point per resolved proposal, and the same again after a rebuild from the log', async () => {
    wire = await startWire(runtime);
    auditor = createAuditor({ config });
    await auditor.start();
    const events = await encodeChain(wire.deps.codec, 'task-cal-1', 'tenant-a', fullTaskSteps('customers.query'));
    await wire.send(events);
    const point = await waitUntil(
      // The verdict and the tool's outcome travel on other topics than the proposal, read in any order: the point is
      // written unlabelled first, then labelled, and gets its verdict whenever that is read.
      async () => {
        const found = await auditor.store().points.findOne({ _id: 'task-cal-1:a1' });
        return found?.label != null && found.verdict != null ? found : undefined;
      },
      { what: 'the labelled point of task-cal-1' },
    );
    expect(point).toMatchObject({
      taskId: 'task-cal-1',
      tenantId: 'tenant-a',
      tool: 'customers.query',
      confidence: { raw: 0.9, source: 'structured', logprob: null },
      verdict: { outcome: 'allow', reasonCode: 'allowed' },
      label: { correct: true, source: 'tool_outcome' },
    });
    await auditor.close();
    const report = await rebuildProjection({ deps: wire.deps });
    expect(report.tasks).toBe(1);
    const rebuilt = await new AuditStore(wire.deps.db).points.findOne({ _id: 'task-cal-1:a1' });
    expect(rebuilt).toEqual(point);
  });
});
