import { terminalEventTypes, isEventType } from '@warden/contracts';
import { statusOfTerminal, type EventFacts, type TaskStatus, type TokenTotals } from './facts.js';

/** One event as the summary sees it: envelope fields and its facts. */
export interface SummaryInput {
  readonly eventId: string;
  readonly type: string;
  readonly seq: number;
  readonly occurredAt: string;
  readonly facts: EventFacts;
}

/** A task's summary in the projection: what it was, where it got, what it cost. */
export interface TaskSummary {
  readonly tenantId: string;
  readonly status: TaskStatus;
  readonly goal: string | null;
  readonly requester: string | null;
  readonly submittedAt: string | null;
  readonly lastEventAt: string | null;
  readonly endedAt: string | null;
  readonly headSeq: number;
  readonly eventCount: number;
  /** Tools proposed, approved or run, sorted. */
  readonly tools: readonly string[];
  /** Guard rules that fired, sorted. */
  readonly rules: readonly string[];
  readonly countsByType: Readonly<Record<string, number>>;
  readonly tokens: TokenTotals;
  readonly costUsd: number;
  /** The terminal event's answer and output, or its reason. */
  readonly final: (EventFacts['final'] & { readonly type: string }) | null;
}

const later = (a: string | null, b: string): string => (a === null || Date.parse(b) > Date.parse(a) ? b : a);

/**
 * Folds events into a task summary. Idempotent (an event id counts once) and independent of arrival order (sets are
 * sorted, cost is summed in integer nano-USD), so a rebuild from the log equals the live projection.
 */
export class TaskSummaryFold {
  private readonly seen = new Set<string>();
  private status: TaskStatus = 'submitted';
  private terminalSeq = -1;
  private goal: string | null = null;
  private requester: string | null = null;
  private submittedAt: string | null = null;
  private lastEventAt: string | null = null;
  private endedAt: string | null = null;
  private headSeq = -1;
  private readonly tools = new Set<string>();
  private readonly rules = new Set<string>();
  private readonly counts = new Map<string, number>();
  private prompt = 0;
  private completion = 0;
  private total = 0;
  private costNano = 0;
  private final: TaskSummary['final'] = null;

  constructor(private readonly tenantId: string) {}

  /** Adds an event; false when its id was already counted. */
  add(e: SummaryInput): boolean {
    if (this.seen.has(e.eventId)) return false;
    this.seen.add(e.eventId);
    const f = e.facts;
    this.counts.set(e.type, (this.counts.get(e.type) ?? 0) + 1);
    this.lastEventAt = later(this.lastEventAt, e.occurredAt);
    if (e.type === 'DeadLettered') return true; // outside the chain: counted, but not a step
    this.headSeq = Math.max(this.headSeq, e.seq);
    if (e.type === 'TaskSubmitted') {
      this.goal = f.goal ?? null;
      this.requester = f.requester ?? null;
      this.submittedAt = e.occurredAt;
    }
    if (f.tool !== undefined) this.tools.add(f.tool);
    if (f.rule !== undefined) this.rules.add(f.rule);
    if (f.tokens !== undefined) {
      this.prompt += f.tokens.prompt;
      this.completion += f.tokens.completion;
      this.total += f.tokens.total;
    }
    this.costNano += f.costNanoUsd ?? 0;
    if (isEventType(e.type) && terminalEventTypes.has(e.type) && e.seq > this.terminalSeq) {
      this.terminalSeq = e.seq;
      this.status = statusOfTerminal[e.type] ?? 'running';
      this.endedAt = e.occurredAt;
      this.final = { type: e.type, ...f.final };
    } else if (this.terminalSeq < 0 && e.type !== 'TaskSubmitted') {
      this.status = 'running';
    }
    return true;
  }

  /** Distinct events counted. */
  size(): number {
    return this.seen.size;
  }

  /** The summary now. */
  summary(): TaskSummary {
    return {
      tenantId: this.tenantId,
      status: this.status,
      goal: this.goal,
      requester: this.requester,
      submittedAt: this.submittedAt,
      lastEventAt: this.lastEventAt,
      endedAt: this.endedAt,
      headSeq: this.headSeq,
      eventCount: this.seen.size,
      tools: [...this.tools].sort(),
      rules: [...this.rules].sort(),
      countsByType: Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b))),
      tokens: { prompt: this.prompt, completion: this.completion, total: this.total },
      costUsd: this.costNano / 1e9,
      final: this.final,
    };
  }
}
