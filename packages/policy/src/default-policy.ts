import { resolve } from 'node:path';

/**
 * The bundled default policy file (packages/policy/policies/default.v1.json). A path, never read here: the guard's
 * config reads the file it is given (GUARD_POLICY_FILE, else this one) and passes the parsed document to loadPolicy.
 */
export const DEFAULT_POLICY_FILE = resolve(import.meta.dirname, '../policies/default.v1.json');
