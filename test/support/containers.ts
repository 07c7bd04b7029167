import type { StackEndpoints } from '../../infra/stack/endpoints.js';

/** True when a Docker engine answers (testcontainers can run). */
export async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    // No engine: the caller falls back to the local stack, which is the normal path on machines without Docker.
    return false;
  }
}

/** Starts Kafka (KRaft), Apicurio and FerretDB in containers; the same images as docker-compose.yml. */
export async function startContainers(): Promise<{ endpoints: StackEndpoints; stop: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const kafka = await new GenericContainer('apache/kafka:3.9.1')
    .withExposedPorts({ container: 9092, host: 39092 })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:39092',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const registry = await new GenericContainer('apicurio/apicurio-registry:3.0.9')
    .withExposedPorts(8080)
    .withWaitStrategy(Wait.forHttp('/health/ready', 8080))
    .start();
  const mongo = await new GenericContainer('ferretdb/ferretdb:1.24')
    .withExposedPorts(27017)
    .withEnvironment({ FERRETDB_HANDLER: 'sqlite', FERRETDB_SQLITE_URL: 'file:/state/' })
    .withWaitStrategy(Wait.forListeningPorts())
    .start();
  return {
    endpoints: {
      kafkaBrokers: '127.0.0.1:39092',
      schemaRegistryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
      mongoUrl: `mongodb://${mongo.getHost()}:${mongo.getMappedPort(27017)}/`,
    },
    stop: async () => {
      await Promise.allSettled([kafka.stop(), registry.stop(), mongo.stop()]);
    },
  };
}
