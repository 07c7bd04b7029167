import {
  fetchVerified,
  isDuplicateKeyError,
  type BlobPointer,
  type BlobStore,
  type JsonValue,
} from '@warden/contracts';
import type { Collection, Db } from 'mongodb';
import { LedgerUnavailableError } from './errors.js';

/** The error classes a recorded failure may carry (those of ToolFailed that end an effect). */
export type FailureClass = 'timeout' | 'invalid_output' | 'tool_error' | 'outcome_unknown' | 'refused';

/** The approval an effect was first recorded under. */
export interface IntentRecord {
  readonly tool: string;
  readonly argsHash: string;
  readonly approvalEventId: string;
  readonly at: Date;
}

/** One dispatch of an effect to its tool: nobody else may dispatch it again before the lease expires. */
export interface DispatchRecord {
  readonly attempt: number;
  readonly replicaId: string;
  readonly at: Date;
  readonly leaseUntil: Date;
}

/** The recorded end of an effect. */
export type OutcomeRecord =
  | {
      readonly status: 'committed';
      readonly result: JsonValue;
      readonly durationMs: number;
      readonly approvalEventId: string;
    }
  | {
      readonly status: 'failed';
      readonly errorClass: FailureClass;
      readonly message: string;
      readonly retryable: boolean;
      readonly durationMs: number;
      readonly approvalEventId: string;
    };

/** What the ledger knows about one effect. */
export interface EffectState {
  readonly intent?: IntentRecord;
  readonly dispatches: readonly DispatchRecord[];
  readonly outcome?: OutcomeRecord;
}

type Phase = 'intent' | 'dispatch' | 'outcome';

interface LedgerDoc {
  _id: string;
  key: string;
  phase: Phase;
  at: Date;
  tool?: string;
  argsHash?: string;
  approvalEventId?: string;
  attempt?: number;
  replicaId?: string;
  leaseUntil?: Date;
  status?: 'committed' | 'failed';
  result?: JsonValue;
  resultBlob?: BlobPointer;
  errorClass?: FailureClass;
  message?: string;
  retryable?: boolean;
  durationMs?: number;
}

/** Options of the effect ledger. */
export interface EffectLedgerOptions {
  /** Collection name (default "executor_effects"). */
  readonly collection?: string;
  /** Large results are kept here by reference rather than in the ledger document. */
  readonly blobs: BlobStore;
  /** Results whose JSON is larger than this go to the blob store (default 256 KiB). */
  readonly claimCheckBytes?: number;
}

function dispatchDoc(key: string, d: Omit<DispatchRecord, 'at'>, now: Date): LedgerDoc {
  return {
    _id: `${key}#dispatch#${d.attempt}`,
    key,
    phase: 'dispatch',
    at: now,
    attempt: d.attempt,
    replicaId: d.replicaId,
    leaseUntil: d.leaseUntil,
  };
}

/** The index of the first document an ordered insertMany failed on (a MongoBulkWriteError's first write error). */
function firstFailedIndex(error: unknown): number | undefined {
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  const first: unknown = Array.isArray(writeErrors) ? writeErrors[0] : writeErrors;
  const index = (first as { index?: unknown } | undefined)?.index;
  return typeof index === 'number' ? index : undefined;
}

/**
 * The effect ledger (invariant 4): every effect, under its idempotency key `taskId:actionId`, goes through intent,
 * dispatch, then a committed or failed outcome. Each phase is its own document with a unique `_id`
 * (`key#intent`, `key#dispatch#n`, `key#outcome`), so every transition is one atomic insert and a duplicate-key
 * error means somebody got there first. FerretDB needs no transactions for this and inserts are its fast path.
 */
export class EffectLedger {
  private readonly effects: Collection<LedgerDoc>;
  private readonly blobs: BlobStore;
  private readonly claimCheckBytes: number;

  constructor(db: Db, options: EffectLedgerOptions) {
    this.effects = db.collection<LedgerDoc>(options.collection ?? 'executor_effects');
    this.blobs = options.blobs;
    this.claimCheckBytes = options.claimCheckBytes ?? 256 * 1024;
  }

  /**
   * Records the intent; when one exists already, returns what the ledger knows instead. With `dispatch`, the same
   * round trip also claims that dispatch, after the intent: one ordered `insertMany`, which stops at its first
   * duplicate, so the claim is only made when the intent was new and it is still written after the intent (MongoDB
   * and FerretDB both keep the documents before the failing one). `dispatched` says whether the claim was made: it
   * can fail when another executor, having found this intent, claimed the same dispatch first.
   */
  async recordIntent(
    key: string,
    intent: Omit<IntentRecord, 'at'>,
    now = new Date(),
    dispatch?: Omit<DispatchRecord, 'at'>,
  ): Promise<
    { readonly created: true; readonly dispatched: boolean } | { readonly created: false; readonly state: EffectState }
  > {
    const intentDoc: LedgerDoc = { _id: `${key}#intent`, key, phase: 'intent', at: now, ...intent };
    try {
      if (dispatch === undefined) await this.effects.insertOne(intentDoc);
      else await this.effects.insertMany([intentDoc, dispatchDoc(key, dispatch, now)], { ordered: true });
      return { created: true, dispatched: dispatch !== undefined };
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw unavailable('record the intent of', key, error);
      if (dispatch !== undefined && firstFailedIndex(error) === 1) return { created: true, dispatched: false };
      return { created: false, state: await this.state(key) };
    }
  }

  /**
   * Everything recorded under a key, read by `_id` only (`key#intent`, `key#outcome`, then `key#dispatch#1`, `#2`, ...
   * until one is missing: dispatches are numbered from 1, each after the one before). A lookup by `_id` is served by
   * the `_id` index on MongoDB. FerretDB 1.24 still scans for it, but in SQLite, without decoding each document: 250-345
   * ms for the whole read among 60,000 entries, where `find({key})` took 2.5-4.7 s (ADR 0030, issue 17). It still
   * grows with the collection there, 15x slower.
   */
  async state(key: string): Promise<EffectState> {
    let docs: LedgerDoc[];
    try {
      const [intentDoc, outcomeDoc] = await Promise.all([
        this.effects.findOne({ _id: `${key}#intent` }),
        this.effects.findOne({ _id: `${key}#outcome` }),
      ]);
      docs = [intentDoc, outcomeDoc].filter((d): d is LedgerDoc => d !== null);
      for (let attempt = 1; ; attempt++) {
        const dispatch = await this.effects.findOne({ _id: `${key}#dispatch#${attempt}` });
        if (dispatch === null) break;
        docs.push(dispatch);
      }
    } catch (error) {
      throw unavailable('read', key, error);
    }
    let intent: IntentRecord | undefined;
    let outcome: OutcomeRecord | undefined;
    const dispatches: DispatchRecord[] = [];
    for (const d of docs) {
      if (d.phase === 'intent') {
        intent = { tool: d.tool ?? '', argsHash: d.argsHash ?? '', approvalEventId: d.approvalEventId ?? '', at: d.at };
      } else if (d.phase === 'dispatch') {
        dispatches.push({
          attempt: d.attempt ?? 0,
          replicaId: d.replicaId ?? '',
          at: d.at,
          leaseUntil: d.leaseUntil ?? d.at,
        });
      } else {
        outcome = await this.outcomeOf(d);
      }
    }
    dispatches.sort((a, b) => a.attempt - b.attempt);
    return {
      ...(intent === undefined ? {} : { intent }),
      dispatches,
      ...(outcome === undefined ? {} : { outcome }),
    };
  }

  /**
   * Claims dispatch number `attempt` of the effect. False when it was claimed already (another replica, or this
   * one before a crash): the caller must reconcile instead of running the tool.
   */
  async dispatch(
    key: string,
    attempt: number,
    replicaId: string,
    leaseUntil: Date,
    now = new Date(),
  ): Promise<boolean> {
    try {
      await this.effects.insertOne(dispatchDoc(key, { attempt, replicaId, leaseUntil }, now));
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw unavailable('record the dispatch of', key, error);
    }
  }

  /**
   * Records the outcome. Exactly one outcome is ever recorded per key: when one exists already, that one is
   * returned and the given one is dropped.
   */
  async finish(key: string, outcome: OutcomeRecord, now = new Date()): Promise<OutcomeRecord> {
    const doc: LedgerDoc = { _id: `${key}#outcome`, key, phase: 'outcome', at: now, ...flatten(outcome) };
    if (outcome.status === 'committed') {
      const bytes = Buffer.from(JSON.stringify(outcome.result));
      if (bytes.byteLength > this.claimCheckBytes) {
        try {
          doc.resultBlob = await this.blobs.put(bytes, 'application/json');
        } catch (error) {
          throw unavailable('store the result of', key, error);
        }
        delete doc.result;
      }
    }
    try {
      await this.effects.insertOne(doc);
      return outcome;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw unavailable('record the outcome of', key, error);
      const existing = (await this.state(key)).outcome;
      if (existing === undefined) throw unavailable('read back the outcome of', key, error);
      return existing;
    }
  }

  private async outcomeOf(d: LedgerDoc): Promise<OutcomeRecord> {
    const base = { durationMs: d.durationMs ?? 0, approvalEventId: d.approvalEventId ?? '' };
    if (d.status === 'committed') {
      let result = d.result ?? null;
      if (d.resultBlob !== undefined) {
        result = JSON.parse(Buffer.from(await fetchVerified(this.blobs, d.resultBlob)).toString('utf8')) as JsonValue;
      }
      return { status: 'committed', result, ...base };
    }
    return {
      status: 'failed',
      errorClass: d.errorClass ?? 'tool_error',
      message: d.message ?? '',
      retryable: d.retryable ?? false,
      ...base,
    };
  }
}

function flatten(outcome: OutcomeRecord): Partial<LedgerDoc> {
  return outcome.status === 'committed'
    ? {
        status: 'committed',
        result: outcome.result,
        durationMs: outcome.durationMs,
        approvalEventId: outcome.approvalEventId,
      }
    : {
        status: 'failed',
        errorClass: outcome.errorClass,
        message: outcome.message,
        retryable: outcome.retryable,
        durationMs: outcome.durationMs,
        approvalEventId: outcome.approvalEventId,
      };
}

function unavailable(what: string, key: string, cause: unknown): LedgerUnavailableError {
  return new LedgerUnavailableError(`effect ledger: could not ${what} effect ${key}: ${(cause as Error).message}`, {
    cause,
    details: { key },
  });
}
