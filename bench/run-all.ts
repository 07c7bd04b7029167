/**
 * Runs the benchmarks: `npm run bench -- [contracts|worker|guard|all]`. Each prints its figures and its ratio
 * against a baseline measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
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
  'agent-step': 'agent-step.ts',
  tracing: 'tracing-overhead.ts',
  'coordinator-cache': 'coordinator-cache.ts',
};
const wanted = process.argv[2] ?? 'all';
const names = wanted === 'all' ? Object.keys(benches) : [wanted];
// Services run compiled (`node dist/main.js`), so the benches measure the compiled packages, not the sources through
// tsx (whose keep-names wrappers alone cost a worker about 4 us per event). tsc -b only rebuilds what changed.
console.log('building the packages (tsc -b) so that the benches run the compiled code services run');
const build = spawnSync(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-b'], {
  stdio: 'inherit',
  cwd: resolve(import.meta.dirname, '..'),
});
if (build.status !== 0) {
  console.error('bench: the build failed; fix it first (npm run build)');
  process.exit(2);
}
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
  const r = spawnSync(process.execPath, ['--import', 'tsx', path], { stdio: 'inherit' });
  failed ||= r.status !== 0;
}
process.exit(failed ? 1 : 0);
