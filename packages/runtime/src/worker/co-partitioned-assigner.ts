import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';
import type { PartitionAssigner } from 'kafkajs';

// kafkajs is CommonJS and Node's ESM import does not see AssignerProtocol as a named export.
const { AssignerProtocol } = createRequire(import.meta.url)('kafkajs') as typeof KafkaJs;

/** The protocol name the members of a stateful worker's group agree on. */
export const CO_PARTITIONED_ASSIGNER = 'WardenCoPartitioned';

/**
 * A kafkajs assigner for stateful workers (ADR 0027): partition number p of every subscribed topic goes to the same
 * member (members sorted by id, partition numbers dealt round-robin), as Kafka Streams assigns co-partitioned
 * topics. Every Warden topic is keyed by taskId with the same partition count, so one member handles every event of
 * a task, whatever its topic, and holds the task's state.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITIONED_ASSIGNER,
  version: 0,
  assign({ members, topics }) {
    const sorted = members.map((m) => m.memberId).sort();
    const partitionsOf = new Map(
      topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).map((m) => m.partitionId)] as const),
    );
    const numbers = [...new Set([...partitionsOf.values()].flat())].sort((a, b) => a - b);
    const assignment = new Map<string, Record<string, number[]>>(sorted.map((id) => [id, {}]));
    numbers.forEach((p, i) => {
      const member = assignment.get(sorted[i % sorted.length]!)!;
      for (const [topic, partitions] of partitionsOf) {
        if (partitions.includes(p)) (member[topic] ??= []).push(p);
      }
    });
    return Promise.resolve(
      [...assignment].map(([memberId, a]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: a,
          userData: Buffer.alloc(0),
        }),
      })),
    );
  },
  protocol({ topics }) {
    return {
      name: CO_PARTITIONED_ASSIGNER,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});
