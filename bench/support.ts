/** Shared helpers of the benchmarks: timing, percentiles, endpoints and printing. */
import { readStackEndpoints, type StackEndpoints } from '../infra/stack/endpoints.js';

/** Endpoints from the environment or the running local stack; exits with a clear message otherwise. */
export function benchEndpoints(): StackEndpoints {
  const endpoints = readStackEndpoints();
  if (endpoints === undefined) {
    console.error(
      'bench: no stack endpoints. Run `npm run stack -- up` first (or set KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGO_URL).',
    );
    process.exit(2);
  }
  return endpoints;
}

/** The p-th percentile (0-100) of samples. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Runs fn `iterations` times and returns per-call microseconds. */
export function timeEach(iterations: number, fn: (i: number) => void): number[] {
  const out = new Array<number>(iterations);
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    fn(i);
    out[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  return out;
}

/** Async variant of timeEach. */
export async function timeEachAsync(iterations: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out = new Array<number>(iterations);
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    out[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  return out;
}

/** Prints one line: name, p50, p99, mean in microseconds. */
export function report(name: string, samplesUs: readonly number[]): { p50: number; p99: number; mean: number } {
  const p50 = percentile(samplesUs, 50);
  const p99 = percentile(samplesUs, 99);
  const mean = samplesUs.reduce((a, b) => a + b, 0) / samplesUs.length;
  console.log(
    `${name.padEnd(44)} p50 ${p50.toFixed(1).padStart(9)} us   p99 ${p99.toFixed(1).padStart(9)} us   mean ${mean.toFixed(1).padStart(9)} us`,
  );
  return { p50, p99, mean };
}

/** Prints a target check line and returns whether it held. */
export function target(label: string, ok: boolean, detail: string): boolean {
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${label}: ${detail}`);
  return ok;
}
