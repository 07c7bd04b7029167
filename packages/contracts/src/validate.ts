import type { z } from 'zod';
import { eventSchemas, isBlobRef, wireEventSchemas, type WardenEvent, type WireEnvelope } from './envelope.js';
import { EventValidationError, UnknownEventTypeError, type ValidationIssue } from './errors.js';
import { isEventType, type EventType } from './events.js';
import { ExactValidators } from './exact-validators.js';
import { MAX_LABEL_CHARS } from './limits.js';

/** The compiled fast path of every event type's inline schema (ADR 0011); zod answers whatever it does not accept. */
const exact = new ExactValidators(eventSchemas);

/**
 * True when `value` is a valid event of its type, data inline, exactly in the form zod would return (defaults
 * present): the compiled check, without zod. False means "ask zod", not "invalid".
 */
export function isExactEvent(type: EventType, value: unknown): boolean {
  return exact.accepts(type, value);
}

/** zod issues as ValidationIssues (path joined with dots). */
export function issuesOf(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

function typeOf(raw: unknown): EventType {
  return checkType((raw as { type?: unknown } | null | undefined)?.type);
}

function checkType(type: unknown): EventType {
  if (!isEventType(type)) {
    throw new UnknownEventTypeError(`unknown event type ${JSON.stringify(type) ?? String(type)}`, {
      details: { type: typeof type === 'string' ? type.slice(0, MAX_LABEL_CHARS) : typeof type },
    });
  }
  return type;
}

/**
 * Validates any value as a Warden event with its data inline. Returns the typed event (defaults applied), or
 * throws UnknownEventTypeError or EventValidationError; nothing else. A value already in that form is returned
 * as it is, not copied.
 */
export function validateEvent(raw: unknown): WardenEvent {
  const type = typeOf(raw);
  if (exact.accepts(type, raw)) return raw as WardenEvent;
  const parsed = eventSchemas[type].safeParse(raw);
  if (!parsed.success) throw new EventValidationError(`invalid ${type} event`, issuesOf(parsed.error));
  return parsed.data as WardenEvent;
}

/** Validates any value as a wire envelope (data inline or a claim-check). Same errors as validateEvent. */
export function validateWireEnvelope(raw: unknown): WireEnvelope {
  const type = typeOf(raw);
  if (exact.accepts(type, raw)) return raw as WireEnvelope;
  // Inline data is checked against the type's own schema, so that issues name the exact field.
  const schema = isBlobRef((raw as { data?: unknown }).data) ? wireEventSchemas[type] : eventSchemas[type];
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new EventValidationError(`invalid ${type} event`, issuesOf(parsed.error));
  return parsed.data as WireEnvelope;
}
