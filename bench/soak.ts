/**
 * The load-and-fault soak (test/soak/soak.ts) from the command line:
 *
 *   npm run soak -- [--tasks 1000] [--no-faults] [--timeout-s 3600] [--wall-time-s 600] [--fault-gap-s 30]
 *                   [--keep-stack] [--json FILE]
 *
 * It starts its own private stack (SOAK_STACK_RUN_DIR, SOAK_KAFKA_PORT, SOAK_REGISTRY_PORT, SOAK_MONGO_PORT; see
 * DEFAULT_SOAK_STACK), runs the workers as processes, injects the faults, prints progress and the report, and exits 1
 * unless no task was lost, no effect duplicated and every chain verified.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SOAK_STACK, formatReport, runSoak } from '../test/soak/soak.js';
import { soakStackSettings } from './config.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000' },
    'no-faults': { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '3600' },
    'wall-time-s': { type: 'string', default: '600' },
    'keep-stack': { type: 'boolean', default: false },
    'fault-gap-s': { type: 'string', default: '30' },
    json: { type: 'string' },
  },
});
const positive = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`soak: --${name} ${raw} is not a positive whole number`);
    process.exit(2);
  }
  return n;
};

const started = Date.now();
const report = await runSoak({
  tasks: positive('tasks', values.tasks),
  faults: !values['no-faults'],
  timeoutMs: positive('timeout-s', values['timeout-s']) * 1000,
  taskWallTimeMs: positive('wall-time-s', values['wall-time-s']) * 1000,
  faultGapMs: positive('fault-gap-s', values['fault-gap-s']) * 1000,
  stack: soakStackSettings(DEFAULT_SOAK_STACK),
  workDir: join(tmpdir(), 'warden-soak'),
  keepStack: values['keep-stack'],
  log: (line) => console.log(`[soak ${Math.round((Date.now() - started) / 1000)}s] ${line}`),
});
console.log(formatReport(report));
if (values.json !== undefined) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
}
process.exit(report.problems.length === 0 ? 0 : 1);
