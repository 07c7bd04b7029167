import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { terminalEventTypes, type WardenEvent } from '@warden/contracts';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from '../infra/pipeline.js';
import { stack } from './support/index.js';

/** Debian's chromium package (.ci/run installs it). */
const CHROMIUM = '/usr/bin/chromium';
const artifacts = resolve(import.meta.dirname, '..', 'artifacts');

describe("the people's page in headless Chromium", () => {
  let p: Pipeline;
  let browser: Browser;
  beforeAll(async () => {
    p = await startPipeline(stack());
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-dev-shm-usage',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  it('shows an escalated delete live, a person approves it on the page, and the task completes', async () => {
    const page = await browser.newPage();
    await page.goto(`${p.people.url}/#token=${encodeURIComponent(p.people.token)}`);
    await page.locator('#live', { hasText: /^live$/ }).waitFor();
    await p.submit('page-approve', 'low-confidence-delete', {
      goal: 'Delete the duplicate account of j.doe@example.com (cus_2291)',
      input: { email: 'j.doe@example.com', customerId: 'cus_2291' },
      scope: { tools: ['customers.query', 'customers.delete'], resources: { collections: ['customers'] } },
    });
    // the escalation appears without a reload (server-sent events), with what a person needs to decide
    const pending = page.locator('section.esc[data-status="pending"]').first();
    await pending.waitFor({ timeout: 60_000 });
    await expect(pending.textContent()).resolves.toMatch(/customers\.delete[\s\S]*cus_2291[\s\S]*confidence/i);
    // beside the action: the task's budget (spent and left; the planner writes it behind its state, so the page
    // reads it again until it is there) and its open breakers
    await page
      .locator('section.esc[data-status="pending"]', { hasText: /Budgettokens: \d+ spent of \d+, \d+ left; cost: / })
      .first()
      .waitFor({ timeout: 15_000 });
    await expect(pending.textContent()).resolves.toMatch(/Open breakersnone/);
    await pending.locator('textarea').fill('checked: cus_2291 is the duplicate');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: resolve(artifacts, 'escalation-page-pending.png'), fullPage: true });
    // approve this escalation, and any the task raises next (a low-confidence answer), until the task ends
    const ended = (e: WardenEvent): boolean => terminalEventTypes.has(e.type);
    const approved = new Set<string>();
    let end: WardenEvent | undefined;
    while (end === undefined) {
      const next = await p.waitFor(
        'page-approve',
        (e) => ended(e) || (e.type === 'EscalationRequested' && !approved.has(e.data.escalationId)),
      );
      if (next.type !== 'EscalationRequested') {
        end = next;
        break;
      }
      approved.add(next.data.escalationId);
      const section = page.locator(`section.esc[data-escalation="${next.data.escalationId}"][data-status="pending"]`);
      if (approved.size > 1) await section.locator('textarea').fill('the answer is right');
      await section.locator('button[data-action="approve"]').click();
    }
    expect(end.type).toBe('TaskCompleted');
    const approvals = p.taskEvents('page-approve').filter((e) => e.type === 'HumanApproved');
    expect(approvals.length).toBeGreaterThanOrEqual(1);
    expect(approvals[0]!.data).toMatchObject({
      tool: 'customers.delete',
      comment: 'checked: cus_2291 is the duplicate',
      decidedBy: { id: 'demo-approver' },
    });
    await page.locator('section.esc[data-status="approved"]').first().waitFor();
    await page.screenshot({ path: resolve(artifacts, 'escalation-page-approved.png'), fullPage: true });
    expect(await p.db.collection('customers').countDocuments({ _id: 'cus_2291' } as never)).toBe(0);
  });

  it('shows a task halted by its budget with what it spent, and an admin resumes it on the page until it completes', async () => {
    const page = await browser.newPage();
    await page.goto(`${p.people.url}/#token=${encodeURIComponent(p.people.token)}`);
    await page.locator('#live', { hasText: /^live$/ }).waitFor();
    await p.submit('page-resume', 'pipeline-refund', {
      goal: 'Refund order ord_7731 of customer cus_1042: 42.50 USD for a damaged item.',
      input: { customerId: 'cus_1042', orderId: 'ord_7731', amountUsd: 42.5 },
      scope: { tools: ['customers.query', 'payments.refund'], resources: { collections: ['customers'] } },
      budgets: { maxTokens: 6_000, maxCostUsd: 1, maxSteps: 20, maxWallTimeMs: 600_000 },
    });
    const halted = await p.waitFor('page-resume', (e) => terminalEventTypes.has(e.type));
    if (halted.type !== 'TaskHalted') throw new Error(`expected a halt, got ${halted.type}`);
    const section = page.locator(`section.esc[data-escalation="${halted.data.escalationId}"]`);
    await section.locator('dt', { hasText: 'Task halted' }).waitFor({ timeout: 60_000 });
    // the planner writes the task's budget view behind its state; the page reads it again until it is there
    await section.locator('dd', { hasText: /^tokens: / }).waitFor({ timeout: 30_000 });
    const text = await section.textContent();
    expect(text).toMatch(/Task haltedbudget_exhausted/);
    expect(text).toMatch(/Budgettokens: \d+ spent of 6000, \d+ left/);
    expect(await section.locator('button[data-action="approve"]').count()).toBe(0);
    await section.locator('textarea').fill('more tokens are fine for this refund');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: resolve(artifacts, 'escalation-page-halted.png'), fullPage: true });
    // the admin grants more tokens and resumes; the task goes on from where it stopped and completes
    await section.locator('input[data-grant="tokens"]').fill('200000');
    await section.locator('button[data-action="resume"]').click();
    await page.locator(`section.esc[data-escalation="${halted.data.escalationId}"][data-status="resumed"]`).waitFor();
    const approved = new Set<string>();
    let end: WardenEvent | undefined;
    while (end === undefined) {
      const next = await p.waitFor(
        'page-resume',
        (e) =>
          (terminalEventTypes.has(e.type) && e.seq > halted.seq) ||
          (e.type === 'EscalationRequested' && e.seq > halted.seq && !approved.has(e.data.escalationId)),
      );
      if (next.type !== 'EscalationRequested') end = next;
      else {
        approved.add(next.data.escalationId);
        await p.approve('page-resume', next.data.escalationId);
      }
    }
    expect(end.type).toBe('TaskCompleted');
    await page.screenshot({ path: resolve(artifacts, 'escalation-page-resumed.png'), fullPage: true });
    const resumed = p.taskEvents('page-resume').find((e) => e.type === 'TaskResumed');
    expect(resumed?.data).toMatchObject({
      haltEventId: halted.id,
      comment: 'more tokens are fine for this refund',
      grant: { tokens: 200_000 },
      decidedBy: { id: 'demo-approver', role: 'admin' },
    });
  });
});
