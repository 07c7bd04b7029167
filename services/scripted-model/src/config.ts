import { z } from 'zod';
import { ConfigError } from './errors.js';
import { BUNDLED_SCENARIOS_DIR } from './scenario.js';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_MAX_TRACKED_ATTEMPTS } from './server.js';

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The environment the scripted model reads. */
export const ScriptedModelEnv = z.object({
  SCRIPTED_MODEL_PORT: intFrom(0, 65_535).default(8787),
  SCRIPTED_MODEL_HOST: z.string().min(1).default('127.0.0.1'),
  SCRIPTED_MODEL_SCENARIOS_DIR: z.string().min(1).default(BUNDLED_SCENARIOS_DIR),
  SCRIPTED_MODEL_BODY_LIMIT_BYTES: intFrom(1024, 1024 * 1024 * 1024).default(DEFAULT_BODY_LIMIT_BYTES),
  SCRIPTED_MODEL_MAX_TRACKED_ATTEMPTS: intFrom(1, 10_000_000).default(DEFAULT_MAX_TRACKED_ATTEMPTS),
  SCRIPTED_MODEL_SHUTDOWN_GRACE_MS: intFrom(0, 600_000).default(5_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The scripted model's configuration. */
export interface ScriptedModelConfig {
  readonly port: number;
  readonly host: string;
  readonly scenariosDir: string;
  readonly bodyLimitBytes: number;
  readonly maxTrackedAttempts: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: z.infer<typeof ScriptedModelEnv>['LOG_LEVEL'];
}

/**
 * Reads the configuration from an environment (main.ts passes process.env; this is the only place that reads it).
 * Empty values count as unset. Bad values throw a ConfigError listing every problem by variable name.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ScriptedModelConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ScriptedModelEnv.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid scripted-model configuration:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  const e = parsed.data;
  return {
    port: e.SCRIPTED_MODEL_PORT,
    host: e.SCRIPTED_MODEL_HOST,
    scenariosDir: e.SCRIPTED_MODEL_SCENARIOS_DIR,
    bodyLimitBytes: e.SCRIPTED_MODEL_BODY_LIMIT_BYTES,
    maxTrackedAttempts: e.SCRIPTED_MODEL_MAX_TRACKED_ATTEMPTS,
    shutdownGraceMs: e.SCRIPTED_MODEL_SHUTDOWN_GRACE_MS,
    logLevel: e.LOG_LEVEL,
  };
}
