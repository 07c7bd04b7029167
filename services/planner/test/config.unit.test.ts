import { ConfigError } from '@warden/runtime';
import { describe, expect, it } from 'vitest';
import { loadPlannerConfig } from '../src/index.js';

describe('loadPlannerConfig', () => {
  it("takes the reservation TTL and the tenant budget log's partitions and answer timeout, with defaults", () => {
    const { settings } = loadPlannerConfig({
      PLANNER_RESERVATION_TTL_MS: '900000',
      PLANNER_TENANT_BUDGET_PARTITIONS: '6',
      PLANNER_TENANT_BUDGET_ANSWER_TIMEOUT_MS: '5000',
    });
    expect(settings.reservationTtlMs).toBe(900_000);
    expect(settings.tenantBudgetPartitions).toBe(6);
    expect(settings.tenantBudgetAnswerTimeoutMs).toBe(5_000);
    const defaults = loadPlannerConfig({}).settings;
    expect([defaults.tenantBudgetPartitions, defaults.tenantBudgetAnswerTimeoutMs]).toEqual([3, 30_000]);
  });

  it('refuses a reservation TTL a model call with its retries could outlast', () => {
    // 6 attempts of 60 s plus 5 backoffs of 10 s: 410 s; a 300 s TTL could expire a call still running
    const load = () =>
      loadPlannerConfig({
        PLANNER_MODEL_TIMEOUT_MS: '60000',
        PLANNER_MODEL_MAX_RETRIES: '5',
        PLANNER_MODEL_RETRY_MAX_MS: '10000',
        PLANNER_RESERVATION_TTL_MS: '300000',
      });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      /PLANNER_RESERVATION_TTL_MS: 300000 must exceed the longest model call with its retries \(410000 ms\)/,
    );
  });

  it("takes tenant allowances' size and idle time, usable for the reservation TTL minus the longest call", () => {
    expect(loadPlannerConfig({}).settings.tenantLease).toEqual({
      tokens: 50_000,
      costUsd: 0.5,
      usableMs: 30 * 60_000 - 410_000,
      idleMs: 10_000,
    });
    const { settings } = loadPlannerConfig({
      PLANNER_TENANT_LEASE_TOKENS: '2000',
      PLANNER_TENANT_LEASE_COST_USD: '0.02',
      PLANNER_TENANT_LEASE_IDLE_MS: '500',
      PLANNER_RESERVATION_TTL_MS: '900000',
    });
    expect(settings.tenantLease).toEqual({ tokens: 2_000, costUsd: 0.02, usableMs: 490_000, idleMs: 500 });
    expect(() => loadPlannerConfig({ PLANNER_TENANT_LEASE_TOKENS: '0' })).toThrow(ConfigError);
  });
});
