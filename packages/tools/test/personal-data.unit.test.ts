import { ERASED_VALUE, MemorySubjectKeyStore, isSealed, openSealed, type JsonValue } from '@warden/contracts';
import { customersQuery, sealPersonalData } from '@warden/tools';
import { describe, expect, it } from 'vitest';

const output: JsonValue = {
  rows: [
    { id: 'cus_1', name: 'Ada Lovelace', email: 'ada@example.com', status: 'active' },
    { id: 'cus_2', name: 'Jane Doe', email: 'jane@example.com', status: 'active', note: 'call jane@example.com' },
  ],
  total: 2,
};

describe('sealing the personal data of tool results', () => {
  it("seals customers.query's declared fields under each record's subject key; erasing one subject erases only it", async () => {
    const keys = new MemorySubjectKeyStore();
    const sealed = await sealPersonalData(customersQuery.personalData, output, {
      keys,
      tenantId: 't1',
      keyScope: 'subject',
      patterns: [],
    });
    const text = JSON.stringify(sealed);
    for (const clear of ['Ada Lovelace', 'ada@example.com', 'Jane Doe']) expect(text).not.toContain(clear);
    expect(text).toContain('"status":"active"'); // not personal: left as is
    await expect(openSealed(keys, sealed)).resolves.toEqual(output);
    await keys.erase('t1:cus_1');
    const opened = (await openSealed(keys, sealed)) as { rows: Record<string, JsonValue>[] };
    expect(opened.rows[0]).toEqual({ id: 'cus_1', name: ERASED_VALUE, email: ERASED_VALUE, status: 'active' });
    expect(opened.rows[1]!.email).toBe('jane@example.com');
  });

  it('seals any other string matching a configured pattern under the tenant key', async () => {
    const keys = new MemorySubjectKeyStore();
    const sealed = (await sealPersonalData(customersQuery.personalData, output, {
      keys,
      tenantId: 't1',
      keyScope: 'tenant',
      patterns: [/@example\.com/u],
    })) as { rows: Record<string, JsonValue>[] };
    expect(isSealed(sealed.rows[1]!.note)).toBe(true);
    expect(JSON.stringify(sealed)).not.toContain('@example.com');
    await keys.erase('tenant:t1');
    const opened = (await openSealed(keys, sealed)) as { rows: Record<string, JsonValue>[] };
    expect(opened.rows[1]).toMatchObject({ name: ERASED_VALUE, note: ERASED_VALUE });
  });
});
