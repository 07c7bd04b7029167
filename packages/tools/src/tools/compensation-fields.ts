/** Argument parts and declarations the compensating tools share (ADR 0026). */
import { z } from 'zod';

/** The effect key (`taskId:actionId`) of the effect a compensation undoes. */
export const EffectKey = z
  .string()
  .min(3)
  .max(600)
  .regex(/^[^|]+:[^|]+$/, 'expected an effect key (taskId:actionId)');

/** A compensation is not compensated in turn: to redo what it undid, the original action is run again. */
export const compensationOnly = {
  kind: 'irreversible',
  reason: 'a compensation; to redo what it undid, run the original action again',
} as const;
