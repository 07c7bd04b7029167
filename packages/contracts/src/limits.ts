/**
 * The size limits of Warden's events, in one place. Every string and list bound in the event schemas is one of these
 * (string lengths in UTF-16 code units, as zod and JSON Schema count them; list lengths in items). The generated JSON
 * Schemas carry them as maxLength / maxItems, so changing one is a schema change: run `npm run schemas`, and mind the
 * registry's BACKWARD compatibility (a lower limit refuses events that were valid).
 *
 * Producers that fit free text into an event (a model's reasoning, an error message) clip it to the same constant
 * with {@link clipText}, so what they send is valid by construction.
 */

/** Ids, names, codes and versions: task, tenant, action, call, escalation and alert ids, tool and model names. */
export const MAX_ID_CHARS = 200;
/** Short labels: an event type name, an actor's role. */
export const MAX_LABEL_CHARS = 100;
/** A sha256 chain link list: how many events one event may name as its causes. */
export const MAX_PREV_HASHES = 32;

/** A task's goal. */
export const MAX_GOAL_CHARS = 20_000;
/** A model's reasoning for a proposal. */
export const MAX_REASONING_CHARS = 20_000;
/** A proposed or final answer. */
export const MAX_ANSWER_CHARS = 200_000;
/** A human-readable message, reason or comment: failures, rejections, escalations, alerts, why a task ended. */
export const MAX_MESSAGE_CHARS = 4_000;
/** A short note: one line of a partial result, a breaker's reason, a loop's description, a rule's detail. */
export const MAX_NOTE_CHARS = 2_000;
/** A dead-lettered error's message. */
export const MAX_ERROR_MESSAGE_CHARS = 8_000;
/** A dead-lettered error's stack. */
export const MAX_STACK_CHARS = 16_000;

/** Claims one proposal may rest on. */
export const MAX_CLAIMS_PER_PROPOSAL = 50;
/** A claim's text. */
export const MAX_CLAIM_TEXT_CHARS = 2_000;
/** Pieces of evidence one claim may cite. */
export const MAX_EVIDENCE_PER_CLAIM = 20;
/** An evidence reference: a task-input path, a tool call id or a retrieved document id. */
export const MAX_EVIDENCE_REF_CHARS = 500;

/** Tools one task's scope may name. */
export const MAX_SCOPE_TOOLS = 100;
/** Resource patterns of one kind (collections, paths, hosts, recipients) in one task's scope. */
export const MAX_SCOPE_PATTERNS_PER_KIND = 100;
/** A collection or host pattern in a scope. */
export const MAX_NAME_PATTERN_CHARS = 200;
/** A path pattern in a scope. */
export const MAX_PATH_PATTERN_CHARS = 500;
/** A recipient pattern in a scope: the longest e-mail address (64 local + "@" + 255 domain). */
export const MAX_RECIPIENT_PATTERN_CHARS = 320;

/** An effect key (`taskId:actionId`, two ids and a separator). */
export const MAX_EFFECT_KEY_CHARS = 400;
/** A Kafka topic name (as the DLQ records it). */
export const MAX_TOPIC_CHARS = 300;
/** A Kafka offset as a decimal string. */
export const MAX_OFFSET_CHARS = 40;

/** The marker {@link clipText} puts where it cut: one character, so a clipped text keeps as much as it can. */
export const CLIP_MARKER = '…';

/**
 * Fits a text into `maxChars` UTF-16 code units: unchanged when it fits, otherwise as much of its start as fits before
 * {@link CLIP_MARKER}. A cut never splits a surrogate pair, so the result is valid text.
 */
export function clipText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const keep = Math.max(0, maxChars - CLIP_MARKER.length);
  const last = text.charCodeAt(keep - 1);
  const head = last >= 0xd800 && last <= 0xdbff ? text.slice(0, keep - 1) : text.slice(0, keep);
  return `${head}${CLIP_MARKER}`.slice(0, Math.max(0, maxChars));
}

/** Steps of a given plan (a rollback's compensations). */
export const MAX_GIVEN_STEPS = 500;
