/** Output of the commands: lines to stdout, and the configuration of each run. */
import { loadCliConfig, type CliConfig } from '../config.js';

/** Writes one line to stdout. */
export const say = (line = ''): void => void process.stdout.write(`${line}\n`);

/** The global options every command accepts. */
export interface GlobalOptions {
  readonly prefix?: string;
  readonly db?: string;
}

/** The configuration of this run: the environment (read by config.ts), overridden by --prefix and --db. */
export const configFrom = (g: GlobalOptions): CliConfig =>
  loadCliConfig(undefined, {
    ...(g.prefix === undefined ? {} : { prefix: g.prefix }),
    ...(g.db === undefined ? {} : { db: g.db }),
  });
