/** Argument schema parts the demo tools share (zod, strict, no transforms). */
import { z } from 'zod';

/** A collection name. */
export const Collection = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/, 'expected a collection name');
/** A filter key: a field name, never a query operator such as $where. */
export const FieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]{0,99}$/, 'expected a field name (no $ operators)');
/** A filter value. */
export const Scalar = z.union([z.string().max(1_000), z.number().finite(), z.boolean(), z.null()]);
/** An e-mail address. */
export const Email = z.email().max(320);
/** A path relative to the workspace. */
export const FilePath = z.string().min(1).max(4_096);
/** A record id. */
export const RecordId = z.string().min(1).max(100);
/** A count. */
export const Count = z.number().int().nonnegative();
