/**
 * Chain verification speed: the auditor's incremental TaskChain (hashes from the codec) against verifyChain over the
 * same 10,000-event task (which hashes every event itself). Prints events per second.
 */
import { TaskChain, canonicalHash, verifyChain } from '@warden/contracts';
import { sampleChain } from '@warden/contracts/testing';

const n = 10_000;
const chain = sampleChain(n);
const hashes = chain.map((e) => canonicalHash(e));
const rate = (ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en')} events/s`;

for (let round = 0; round < 3; round++) {
  let t = performance.now();
  const tracker = new TaskChain('task-sample');
  for (let i = 0; i < n; i++) tracker.add(chain[i]!, hashes[i]!);
  if (tracker.state().status !== 'ok') throw new Error('chain should verify');
  const incremental = performance.now() - t;
  t = performance.now();
  if (!verifyChain(chain).ok) throw new Error('chain should verify');
  const full = performance.now() - t;
  console.log(
    `round ${round + 1}: incremental TaskChain ${rate(incremental)}; verifyChain (hashing included) ${rate(full)}`,
  );
}
