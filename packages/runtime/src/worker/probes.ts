import type { Admin, Kafka } from 'kafkajs';
import type { Db } from 'mongodb';
import { RegistryUnavailableError } from '@warden/contracts';
import type { DependencyProbe } from './dependency-monitor.js';

/**
 * Probes Kafka with a Metadata request (describeCluster) on an admin client of its own that does not retry, so a
 * broker that does not answer is reported at once rather than after the client's retries.
 */
export function kafkaProbe(kafka: Kafka): DependencyProbe & { close(): Promise<void> } {
  let admin: Admin | undefined;
  const probe = async (): Promise<void> => {
    admin ??= kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.describeCluster();
    } catch (error) {
      const broken = admin;
      admin = undefined; // reconnect from scratch next time
      await broken.disconnect().catch(() => undefined);
      throw error;
    }
  };
  return Object.assign(probe, {
    close: async () => {
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    },
  });
}

/** Probes the schema registry's Confluent API with its smallest read (the global compatibility level). */
export function registryProbe(registryUrl: string): DependencyProbe {
  const url = `${registryUrl.replace(/\/+$/, '')}/config`;
  return async (signal) => {
    const response = await fetch(url, { signal, headers: { accept: 'application/vnd.schemaregistry.v1+json' } });
    await response.arrayBuffer(); // drain, so the connection is reused
    if (response.status >= 500) throw new RegistryUnavailableError(`schema registry answered HTTP ${response.status}`);
  };
}

/** Probes MongoDB with a ping (bounded by the client's server selection and socket timeouts, and the probe's own). */
export function mongoProbe(db: Db): DependencyProbe {
  return async () => {
    await db.command({ ping: 1 });
  };
}
