/**
 * Runs the benchmarks: `npm run bench -- [contracts|worker|guard|all]`. Each prints its figures and its ratio
 * against a baseline measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const benches: Record<string, string> = {
  contracts: 'contracts-codec.ts',
  worker: 'worker-throughput.ts',
  guard: 'guard-decide.ts',
  'guard-kafka': 'guard-kafka.ts',
  executor: 'executor-overhead.ts',
  planner: 'planner-overhead.ts',
  auditor: 'auditor-chain.ts',
  'auditor-lag': 'auditor-lag.ts',
};
const wanted = process.argv[2] ?? 'all';
const names = wanted === 'all' ? Object.keys(benches) : [wanted];
let failed = false;
for (const name of names) {
  const file = benches[name];
  if (file === undefined) {
    console.error(`unknown bench "${name}"; choose one of: ${Object.keys(benches).join(', ')}, all`);
    process.exit(2);
  }
  const path = resolve(import.meta.dirname, file);
  if (!existsSync(path)) {
    console.log(`\n== ${name}: not present yet`);
    continue;
  }
  console.log(`\n== ${name}`);
  const r = spawnSync(process.execPath, ['--conditions=@warden/source', '--import', 'tsx', path], { stdio: 'inherit' });
  failed ||= r.status !== 0;
}
process.exit(failed ? 1 : 0);
