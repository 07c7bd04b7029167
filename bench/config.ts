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

/** One of `choices` from the environment, or the fallback; anything else stops the bench with its name. */
export function benchChoice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    console.error(`bench: ${name}=${raw} is not one of ${choices.join(', ')}`);
    process.exit(2);
  }
  return raw as T;
}

/** A comma-separated list of names from the environment (empty when unset). */
export function benchList(name: string): string[] {
  return (process.env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A file path from the environment (e.g. where to write a CPU profile), or undefined when unset. */
export function benchPath(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** The soak's private stack: SOAK_STACK_RUN_DIR, SOAK_KAFKA_PORT (the controller on the next port), SOAK_REGISTRY_PORT, SOAK_MONGO_PORT. */
export function soakStackSettings(defaults: {
  runDir: string;
  kafkaPort: number;
  registryPort: number;
  mongoPort: number;
}): { runDir: string; kafkaPort: number; kafkaControllerPort: number; registryPort: number; mongoPort: number } {
  const kafkaPort = benchSetting('SOAK_KAFKA_PORT', defaults.kafkaPort);
  return {
    runDir: benchPath('SOAK_STACK_RUN_DIR') ?? defaults.runDir,
    kafkaPort,
    kafkaControllerPort: kafkaPort + 1,
    registryPort: benchSetting('SOAK_REGISTRY_PORT', defaults.registryPort),
    mongoPort: benchSetting('SOAK_MONGO_PORT', defaults.mongoPort),
  };
}
