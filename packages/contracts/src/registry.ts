import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';

/**
 * A Confluent-API registry client set up for Warden's JSON Schemas: draft-07, formats checked by zod (the
 * registry's Ajv only checks the patterns zod also emits), and no console output from Ajv.
 */
export function createRegistryClient(url: string): SchemaRegistry {
  return new SchemaRegistry(
    { host: url, retry: { retries: 3, initialRetryTimeInSecs: 0.2 } },
    { [SchemaType.JSON]: { strict: false, logger: false, formats: { uuid: true, 'date-time': true } } },
  );
}
