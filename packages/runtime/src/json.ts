/** Parses JSON text; undefined when there is no text or it is not JSON (a schema check then reports it). */
export function jsonOrUndefined(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
