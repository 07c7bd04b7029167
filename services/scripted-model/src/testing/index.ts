import type { Logger } from 'pino';
import { loadScenarios, parseScenario, BUNDLED_SCENARIOS_DIR, type Scenario, type ScenarioInput } from '../scenario.js';
import { createScriptedModelServer, type ScriptedModelServer } from '../server.js';

/** Options of startScriptedModel. */
export interface StartScriptedModelOptions {
  /** Extra scenarios (inline objects or parsed) served next to the bundled ones; an id may not repeat a bundled id. */
  readonly scenarios?: readonly (ScenarioInput | Scenario)[] | undefined;
  /** Serve the bundled scenarios too (default true). */
  readonly bundled?: boolean | undefined;
  readonly logger?: Logger | undefined;
}

/** A scripted model started for a test. */
export interface StartedScriptedModel {
  readonly server: ScriptedModelServer;
  /** What an openai client takes as baseURL, e.g. "http://127.0.0.1:53121/v1". */
  readonly baseURL: string;
  /** Closes the server. */
  close(): Promise<void>;
}

function isParsed(value: ScenarioInput | Scenario): value is Scenario {
  return 'turns' in value && 'fingerprint' in value;
}

/**
 * Starts a scripted model on 127.0.0.1 and a free port, with the bundled scenarios and any given ones. For tests of
 * code that talks to a model: `new OpenAI({ baseURL: started.baseURL, apiKey: 'scripted' })`.
 */
export async function startScriptedModel(options: StartScriptedModelOptions = {}): Promise<StartedScriptedModel> {
  const bundled = options.bundled === false ? [] : await loadScenarios(BUNDLED_SCENARIOS_DIR);
  const extra = (options.scenarios ?? []).map((s) => (isParsed(s) ? s : parseScenario(s)));
  const server = createScriptedModelServer({ scenarios: [...bundled, ...extra], logger: options.logger });
  await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, baseURL: server.baseURL, close: () => server.close() };
}
