/**
 * Times every request kafkajs producers send, by who sent it and the request's API (kafkajs's REQUEST
 * instrumentation event: from the request's enqueueing to its response). Patches kafkajs's Kafka.producer so that
 * every producer made in this process is counted, the workers' (in-process) and the floor relays'.
 */
import { Kafka } from 'kafkajs';
import { percentile } from './support.js';

type Who = (transactionalId: string | undefined) => string | undefined;

/** Starts counting; `who` names a producer from its transactional id (undefined: not counted). */
export function monitorKafkaRequests(who: Who): { reset(): void; print(label: string): void } {
  const samples = new Map<string, number[]>();
  const original = Object.getOwnPropertyDescriptor(Kafka.prototype, 'producer')!.value as Kafka['producer'];
  Kafka.prototype.producer = function (this: Kafka, config) {
    const producer = original.call(this, config);
    const name = who(config?.transactionalId);
    if (name !== undefined) {
      producer.on(producer.events.REQUEST, ({ payload }) => {
        const key = `${name} ${payload.apiName}`;
        const list = samples.get(key);
        if (list === undefined) samples.set(key, [payload.duration]);
        else list.push(payload.duration);
      });
    }
    return producer;
  };
  return {
    reset: () => samples.clear(),
    print: (label: string) => {
      console.log(`  kafkajs producer requests during ${label} (count, p50, p99 in ms):`);
      for (const [key, ms] of [...samples].sort(([a], [b]) => a.localeCompare(b)))
        console.log(
          `    ${key.padEnd(48)} ${String(ms.length).padStart(6)} ${percentile(ms, 50).toFixed(1).padStart(7)} ${percentile(ms, 99).toFixed(1).padStart(7)}`,
        );
    },
  };
}
