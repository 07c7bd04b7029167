import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReport, runSoak } from './soak/soak.js';

/** The soak's own private stack (it restarts the broker and MongoDB): never the shared one, and not a manual soak's. */
const SOAK_E2E_STACK = {
  runDir: join(tmpdir(), 'warden-soak-e2e-stack'),
  kafkaPort: 49192,
  kafkaControllerPort: 49193,
  registryPort: 48181,
  mongoPort: 37120,
};
/** The shortened soak of CI: few tasks, every fault, close together so that they land while tasks are in flight. */
const TASKS = 80;
const FAULT_GAP_MS = 5_000;
const SOAK_TIMEOUT_MS = 15 * 60_000;

describe('the load-and-fault soak, shortened', () => {
  it(
    `${TASKS} tasks at once through a SIGKILL of each worker, a broker restart and a MongoDB restart: none lost, no effect twice, every chain verified`,
    async () => {
      const lines: string[] = [];
      const report = await runSoak({
        tasks: TASKS,
        faults: true,
        timeoutMs: SOAK_TIMEOUT_MS - 5 * 60_000,
        stack: SOAK_E2E_STACK,
        workDir: join(tmpdir(), 'warden-soak'),
        faultGapMs: FAULT_GAP_MS,
        log: (line) => lines.push(line),
      });
      const told = `${formatReport(report)}\n--- progress ---\n${lines.join('\n')}`;
      expect(
        report.faults.map((f) => f.fault),
        told,
      ).toEqual([
        'SIGKILL planner',
        'SIGKILL guard',
        'SIGKILL executor',
        'SIGKILL auditor',
        'restart kafka',
        'restart mongo',
      ]);
      expect(report.faults[0]!.endedBefore, told).toBeLessThan(TASKS); // the faults hit tasks in flight
      expect(report.lost, told).toBe(0);
      expect(report.duplicatedEffects, told).toBe(0);
      expect(report.duplicatedResults, told).toBe(0);
      expect(report.duplicatedOutcomes, told).toBe(0);
      expect(report.effectsPastDeadline, told).toBe(0);
      expect(report.chainsVerified, told).toBe(TASKS);
      expect(report.apiChainsVerified, told).toBe(report.apiChainsSampled);
      expect(report.problems, told).toEqual([]);
    },
    SOAK_TIMEOUT_MS,
  );
});
