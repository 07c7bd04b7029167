// What the CLI needs to know about each server of the local stack.
import type { ServerId } from './paths.js';
import type { CommandSpec } from './proc.js';

export type Progress = (message: string) => void;

export interface ServerDefinition {
  readonly id: ServerId;
  /** Shown in progress lines, e.g. "kafka", "registry (apicurio 3.0.9)". */
  readonly label: string;
  /** The endpoint given through the environment; the stack then starts nothing for this server. */
  readonly external: string | undefined;
  /** The endpoint clients use (external or local). */
  readonly endpoint: string;
  /** Ports a local server binds on 127.0.0.1; they must be free before it starts. */
  readonly ports: readonly number[];
  /** A string found in the command line of the process this stack started (guards against PID reuse). */
  readonly marker: string;
  /** True when the download or build is already in the cache. */
  isInstalled(): boolean;
  /** Downloads or builds into the cache (first run only); gives up when signal aborts. */
  install(progress: Progress, signal: AbortSignal): Promise<void>;
  /** Creates the working directory and configuration, wiping data first if fresh. */
  prepare(fresh: boolean, progress: Progress): Promise<void>;
  /** The server command; it must stay in the foreground and exit on SIGTERM. */
  command(): CommandSpec;
  /** Resolves when the server at endpoint answers as a client needs it; rejects with the reason otherwise. */
  checkHealth(endpoint: string, timeoutMs: number): Promise<void>;
  /**
   * Why the running server's data cannot serve this configuration (e.g. Kafka formatted before SASL, ADR 0019), so
   * that `up` says to restart it instead of waiting for a health check that cannot pass; undefined when it can.
   */
  staleReason?(): string | undefined;
  /** Once healthy (started or already running): idempotent set-up, e.g. Kafka's ACLs. */
  configure?(endpoint: string, progress: Progress): Promise<void>;
  /** A known failure in the server's log, said with its cure; undefined when the log shows none it knows. */
  diagnose?(log: string): string | undefined;
}
