/** The benchmarks' settings: the only place bench/ reads process.env. */

/** A positive number from the environment, or the fallback; a bad value stops the bench with its name. */
export function benchSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`bench: ${name}=${raw} is not a positive number`);
    process.exit(2);
  }
  return value;
}

/** A file path from the environment (e.g. where to write a CPU profile), or undefined when unset. */
export function benchPath(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}
