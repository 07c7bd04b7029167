import {
  follow,
  signDecision,
  signHaltDecision,
  type EncodedEvent,
  type EventDraft,
  type EventData,
  type SigningKey,
} from '@warden/contracts';
import type { EscalationMetrics, Publisher } from '@warden/runtime';
import type { Logger } from 'pino';
import type { Principal } from './auth.js';
import {
  checkDecisionRequest,
  checkHaltRequest,
  type DecisionRequest,
  type HaltRequest,
  type Refusal,
} from './decide.js';
import { DecisionPublishError } from './errors.js';
import { escalationKey, type EscalationDoc, type EscalationStore } from './store.js';

/** The service's name as events' producer. */
export const ESCALATION_PRODUCER = 'escalation';

/** What deciding needs. */
export interface DecisionDeps {
  readonly store: EscalationStore;
  readonly publisher: () => Publisher;
  readonly signingKey: SigningKey;
  readonly decisionTtlMs: number;
  readonly now: () => Date;
  readonly logger: Logger;
  /** Decisions, expiries and overdue escalations on the worker's /metrics. */
  readonly metrics?: Pick<EscalationMetrics, 'decided' | 'expired' | 'overdue'>;
}

/** The outcome of a decision request. */
export type DecisionResult =
  | { readonly ok: true; readonly status: 'approved' | 'denied' | 'resumed' | 'cancelled'; readonly eventId: string }
  | { readonly ok: false; readonly refusal: Refusal };

/**
 * Records people's decisions: checks the request, claims the escalation's one outcome (a unique key in MongoDB:
 * two approvers racing, on one replica or several, produce exactly one decision; requests for one escalation are
 * also serialised in this process), then publishes a HumanApproved or HumanDenied signed with the service's key,
 * chained to the EscalationRequested. A publish that fails gives the claim back.
 */
export class Decisions {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: DecisionDeps) {}

  /** Decides an escalation as `principal` asks. */
  decide(
    taskId: string,
    escalationId: string,
    principal: Principal,
    request: DecisionRequest,
  ): Promise<DecisionResult> {
    return this.serialised(escalationKey(taskId, escalationId), () =>
      this.decideNow(taskId, escalationId, principal, request),
    );
  }

  /**
   * Resumes or cancels the halted task an escalation asks about, as an admin asks: the same one-outcome claim as a
   * decision, then a TaskResumed or TaskCancelled signed with the service's key, bound to the halt and chained to
   * its TaskHalted event. The planner checks it and acts.
   */
  decideHalt(
    taskId: string,
    escalationId: string,
    principal: Principal,
    request: HaltRequest,
  ): Promise<DecisionResult> {
    return this.serialised(escalationKey(taskId, escalationId), async () => {
      const { store } = this.deps;
      const now = this.deps.now();
      const escalation = await store.get(taskId, escalationId, principal.tenants);
      const check = checkHaltRequest(escalation, principal, now);
      if (!check.ok) return check;
      const doc = escalation!;
      const halt = doc.halt!;
      const outcome = request.kind === 'resume' ? 'resumed' : 'cancelled';
      if (!(await store.claim(doc._id, outcome, now))) {
        return { ok: false, refusal: { status: 409, code: 'already_decided', message: 'the escalation was decided' } };
      }
      const expiresAt = new Date(Math.min(doc.expiresAt.getTime(), now.getTime() + this.deps.decisionTtlMs));
      const base: EventData<'TaskCancelled'> = {
        escalationId: doc.escalationId,
        haltEventId: halt.eventId,
        haltReasonCode: halt.reasonCode,
        decidedBy: { id: principal.subject, kind: 'user', role: 'admin' },
        policyVersion: doc.held.policyVersion,
        expiresAt: expiresAt.toISOString(),
        ...(request.comment === undefined ? {} : { comment: request.comment }),
      };
      const meta = { producer: ESCALATION_PRODUCER, now, policyVersion: doc.held.policyVersion };
      let draft: EventDraft;
      if (request.kind === 'resume') {
        const data: EventData<'TaskResumed'> = {
          ...base,
          ...(request.grant === undefined ? {} : { grant: request.grant }),
        };
        const signature = signHaltDecision('TaskResumed', doc.taskId, doc.tenantId, data, this.deps.signingKey);
        draft = follow(halt.link, 'TaskResumed', { ...data, signature }, meta);
      } else {
        const signature = signHaltDecision('TaskCancelled', doc.taskId, doc.tenantId, base, this.deps.signingKey);
        draft = follow(halt.link, 'TaskCancelled', { ...base, signature }, meta);
      }
      const [encoded] = await this.publish(doc._id, draft);
      const eventId = encoded!.envelope.id;
      await store.recordOutcome(doc._id, outcome, {
        outcome,
        by: principal.subject,
        role: 'admin',
        at: now.toISOString(),
        ...(request.comment === undefined ? {} : { comment: request.comment }),
        eventId,
      });
      this.deps.logger.info(
        { taskId, escalationId, outcome, by: principal.subject, eventId },
        'halt decision recorded',
      );
      return { ok: true, status: outcome, eventId };
    });
  }

  /** Publishes EscalationExpired for every pending escalation past its expiry (each claimed once). */
  async expireOverdue(): Promise<number> {
    const now = this.deps.now();
    let expired = 0;
    const overdue = await this.deps.store.overdue(now);
    for (const doc of overdue) {
      const done = await this.serialised(doc._id, async () => {
        if (!(await this.deps.store.claim(doc._id, 'expired', now))) return false;
        const draft = follow(
          doc.link,
          'EscalationExpired',
          { escalationId: doc.escalationId, actionId: doc.held.actionId, expiresAt: doc.held.expiresAt },
          { producer: ESCALATION_PRODUCER, now },
        );
        const [encoded] = await this.publish(doc._id, draft);
        await this.deps.store.recordOutcome(doc._id, 'expired', {
          outcome: 'expired',
          at: now.toISOString(),
          eventId: encoded!.envelope.id,
        });
        return true;
      });
      if (done) {
        expired++;
        this.deps.metrics?.expired();
      }
    }
    // What is still waiting past its expiry after this check (claimed elsewhere, or its publish failed).
    this.deps.metrics?.overdue(overdue.length - expired);
    return expired;
  }

  private async decideNow(
    taskId: string,
    escalationId: string,
    principal: Principal,
    request: DecisionRequest,
  ): Promise<DecisionResult> {
    const { store } = this.deps;
    const now = this.deps.now();
    const escalation = await store.get(taskId, escalationId, principal.tenants);
    const check = checkDecisionRequest(escalation, principal, request, now);
    if (!check.ok) return check;
    const doc = escalation!;
    const outcome = request.kind === 'approve' ? 'approved' : 'denied';
    if (!(await store.claim(doc._id, outcome, now))) {
      return { ok: false, refusal: { status: 409, code: 'already_decided', message: 'the escalation was decided' } };
    }
    const draft = this.draftOf(doc, principal, check.role, request, now);
    const [encoded] = await this.publish(doc._id, draft);
    const eventId = encoded!.envelope.id;
    this.deps.metrics?.decided(outcome, Math.max(0, now.getTime() - Date.parse(doc.requestedAt)) / 1000);
    await store.recordOutcome(doc._id, outcome, {
      outcome,
      by: principal.subject,
      role: check.role,
      at: now.toISOString(),
      ...(request.comment === undefined ? {} : { comment: request.comment }),
      eventId,
    });
    this.deps.logger.info(
      { taskId, escalationId, outcome, by: principal.subject, role: check.role, eventId },
      'decision recorded',
    );
    return { ok: true, status: outcome, eventId };
  }

  private draftOf(
    doc: EscalationDoc,
    principal: Principal,
    role: string,
    request: DecisionRequest,
    now: Date,
  ): EventDraft<'HumanApproved'> | EventDraft<'HumanDenied'> {
    const held = doc.held;
    const expiresAt = new Date(Math.min(doc.expiresAt.getTime(), now.getTime() + this.deps.decisionTtlMs));
    const base: EventData<'HumanDenied'> = {
      escalationId: doc.escalationId,
      actionId: held.actionId!,
      decidedBy: { id: principal.subject, kind: 'user', role },
      argsHash: held.argsHash!,
      policyVersion: held.policyVersion,
      expiresAt: expiresAt.toISOString(),
      ...(request.comment === undefined ? {} : { comment: request.comment }),
    };
    const meta = { producer: ESCALATION_PRODUCER, now, policyVersion: held.policyVersion };
    if (request.kind === 'deny') {
      const signature = signDecision('HumanDenied', doc.taskId, doc.tenantId, base, this.deps.signingKey);
      return follow(doc.link, 'HumanDenied', { ...base, signature }, meta);
    }
    const action = doc.requested.action;
    const data: EventData<'HumanApproved'> = {
      ...base,
      tool: action?.tool ?? null,
      args: action?.args ?? {},
    };
    const signature = signDecision('HumanApproved', doc.taskId, doc.tenantId, data, this.deps.signingKey);
    return follow(doc.link, 'HumanApproved', { ...data, signature }, meta);
  }

  private async publish(key: string, draft: EventDraft): Promise<EncodedEvent[]> {
    try {
      return await this.deps.publisher().publish(draft);
    } catch (error) {
      await this.deps.store.release(key);
      throw new DecisionPublishError(`could not publish ${draft.type} of ${key}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private async serialised<T>(key: string, body: () => Promise<T>): Promise<T> {
    const before = this.inFlight.get(key) ?? Promise.resolve();
    const run = before.then(body, body);
    const tail = run.catch(() => undefined);
    this.inFlight.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.inFlight.get(key) === tail) this.inFlight.delete(key);
    }
  }
}
