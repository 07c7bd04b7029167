/**
 * The MongoDB commands of the workers a bench runs in its own process (infra/pipeline.ts), timed by the driver's
 * command monitoring: what each run of agent-step sent to MongoDB, per command and collection (count, total, p50,
 * max), so that a lookup that grows with the collections shows by name. The workers create their clients themselves
 * (the runtime's createMongoClient), so monitoring is switched on for every client of this process as it connects.
 */
import { MongoClient, type CommandStartedEvent, type CommandSucceededEvent } from 'mongodb';
import { percentile } from './support.js';

/** Per "command collection": each call's milliseconds. */
type Timings = Map<string, number[]>;

/** Switches command monitoring on for every MongoClient of this process from now on; returns the timings' reader. */
export function monitorMongoCommands(): { reset: () => void; print: (label: string) => void } {
  let timings: Timings = new Map();
  let failed = new Map<string, number>();
  /** Commands sent and not answered yet: their key and when they were sent. */
  const started = new Map<number, { key: string; atMs: number }>();
  // Called with the client as `this` below, as the driver would.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const connect = MongoClient.prototype.connect;
  const watched = new WeakSet<MongoClient>();
  MongoClient.prototype.connect = function (this: MongoClient) {
    if (!watched.has(this)) {
      watched.add(this);
      // A setter of the driver's client that its typings do not declare (mongo_client.js: set monitorCommands).
      (this as unknown as { monitorCommands: boolean }).monitorCommands = true;
      this.on('commandStarted', (e: CommandStartedEvent) => {
        const coll = e.command[e.commandName] as unknown;
        const key = `${e.commandName} ${typeof coll === 'string' ? coll : ''}`.trim();
        started.set(e.requestId, { key, atMs: performance.now() });
      });
      this.on('commandSucceeded', (e: CommandSucceededEvent) => {
        const key = started.get(e.requestId)?.key;
        started.delete(e.requestId);
        if (key !== undefined) timings.set(key, [...(timings.get(key) ?? []), e.duration]);
      });
      this.on('commandFailed', (e) => {
        const key = started.get(e.requestId)?.key;
        started.delete(e.requestId);
        if (key !== undefined) failed.set(key, (failed.get(key) ?? 0) + 1);
      });
    }
    return connect.call(this);
  };
  return {
    reset: () => {
      timings = new Map();
      failed = new Map();
    },
    print: (label) => {
      const skip = new Set(['hello', 'ismaster', 'isMaster', 'ping', 'endSessions', 'saslStart', 'saslContinue']);
      const rows = [...timings.entries()]
        .filter(([k]) => !skip.has(k.split(' ')[0]!))
        .map(([k, ms]) => ({
          k,
          n: ms.length,
          total: ms.reduce((a, b) => a + b, 0),
          p50: percentile(ms, 50),
          max: Math.max(...ms),
        }))
        .sort((a, b) => b.total - a.total);
      console.log(`  MongoDB commands of the workers during ${label} (count, total, p50, max in ms):`);
      if (rows.length === 0) console.log('    none');
      for (const [k, n] of failed)
        console.log(`    ${k.padEnd(44)} ${String(n).padStart(6)} failed (a timeout, or the server's error)`);
      const now = performance.now();
      for (const { key, atMs } of started.values())
        console.log(`    ${key.padEnd(44)} still running, sent ${((now - atMs) / 1000).toFixed(1)} s ago`);
      for (const r of rows)
        console.log(
          `    ${r.k.padEnd(44)} ${String(r.n).padStart(6)}  ${r.total.toFixed(0).padStart(8)}  ${r.p50.toFixed(1).padStart(7)}  ${r.max.toFixed(1).padStart(8)}`,
        );
    },
  };
}
