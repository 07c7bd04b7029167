/**
 * @warden/scripted-model: an OpenAI-compatible HTTP server that plays scenario scripts, so Warden's planner, demo and
 * tests run offline on the same code path as a real model. README.md documents the scenario format and the
 * confidence protocol.
 */
export { AttemptCounter } from './attempts.js';
export { ChatRequestSchema, messageText, type ChatRequest, type RequestMessage } from './chat-request.js';
export { loadConfig, ScriptedModelEnv, type ScriptedModelConfig } from './config.js';
export {
  ConfigError,
  LifecycleError,
  ScenarioError,
  ScriptedModelError,
  type ScriptedModelErrorOptions,
} from './errors.js';
export {
  assistantTurns,
  conversationTurn,
  failureForAttempt,
  MODEL_PREFIXES,
  modelNameOf,
  playStep,
  requestFingerprint,
  scenarioIdOf,
  selectStep,
  type PlayedLogprob,
  type PlayedToolCall,
  type PlayedTurn,
  type StepSelection,
} from './play.js';
export {
  BUNDLED_SCENARIOS_DIR,
  FAILURE_STATUSES,
  loadScenarioFile,
  loadScenarios,
  ON_EXHAUSTED,
  parseScenario,
  type AnswerStep,
  type Scenario,
  type ScenarioInput,
  type ScriptedFailure,
  type ScriptStep,
  type ScriptTurn,
  type StepCommon,
  type StepCondition,
  type ToolCallSpec,
  type ToolCallsStep,
} from './scenario.js';
export {
  createScriptedModelServer,
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_MAX_TRACKED_ATTEMPTS,
  SERVER_STATES,
  type ListenOptions,
  type ScriptedModelServer,
  type ScriptedModelServerOptions,
  type ServerState,
} from './server.js';
export { countCompletionTokens, countPromptTokens, countTokens } from './tokens.js';
