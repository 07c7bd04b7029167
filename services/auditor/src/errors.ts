import { WardenError } from '@warden/contracts';

/** Every auditor error code (prefix WARDEN_AUDITOR_). */
export const AuditorErrorCodes = {
  topicSettings: 'WARDEN_AUDITOR_TOPIC_SETTINGS',
  config: 'WARDEN_AUDITOR_CONFIG',
  lifecycle: 'WARDEN_AUDITOR_LIFECYCLE',
  checkpointSignature: 'WARDEN_AUDITOR_CHECKPOINT_SIGNATURE',
  rebuild: 'WARDEN_AUDITOR_REBUILD',
} as const;

/**
 * A topic's settings would lose audit data (compaction, finite retention). Terminal: the auditor refuses to start
 * until an operator fixes the topic.
 */
export class TopicSettingsError extends WardenError {
  readonly code = AuditorErrorCodes.topicSettings;
  readonly retryable = false;
}

/** The auditor's configuration is invalid (API keys, checkpoint key). Terminal. */
export class AuditorConfigError extends WardenError {
  readonly code = AuditorErrorCodes.config;
  readonly retryable = false;
}

/** A lifecycle call in the wrong state (start twice, start after close). Terminal. */
export class AuditorLifecycleError extends WardenError {
  readonly code = AuditorErrorCodes.lifecycle;
  readonly retryable = false;
}

/** A checkpoint's signature does not match its content. Terminal: the checkpoint was forged or altered. */
export class CheckpointSignatureError extends WardenError {
  readonly code = AuditorErrorCodes.checkpointSignature;
  readonly retryable = false;
}

/** A rebuild could not reach the log's end (a consumer crash, a deadline). Retryable. */
export class RebuildError extends WardenError {
  readonly code = AuditorErrorCodes.rebuild;
  readonly retryable = true;
}
