import {
  ERASED_VALUE,
  MemorySubjectKeyStore,
  holdsErased,
  isSealed,
  openSealed,
  presentSealed,
  type JsonValue,
} from '@warden/contracts';
import { OpenedValues, customersQuery, sealPersonalData, sealRepeated, sealRepeatedText } from '@warden/tools';
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

describe("sealing what a model's output repeats (ADR 0026)", () => {
  it('seals each repetition in place under its subject, any case, longest first, and leaves sealed pieces alone', async () => {
    const keys = new MemorySubjectKeyStore();
    const opened = new OpenedValues();
    opened.record('tenant-a:cus_1', { name: 'Ada Lovelace', email: 'ada@example.com', short: 'Al' });
    opened.record('tenant-a:cus_2', 'Ada');
    const how = { keys, tenantId: 'tenant-a', opened, patterns: [/\+1 555 [0-9]{4}/u] };
    const text = 'ADA LOVELACE wrote to Ada@Example.com; Ada called +1 555 0100. Al agreed.';
    const sealed = await sealRepeatedText(text, how);
    for (const clear of ['lovelace', 'example.com', '555 0100']) expect(sealed.toLowerCase()).not.toContain(clear);
    expect(sealed).toContain('Al agreed'); // too short to look for
    expect(await openSealed(keys, sealed)).toBe(text); // every piece back exactly as it stood
    expect(await sealRepeatedText(sealed, how)).toBe(sealed); // sealing again changes nothing
    expect(await sealRepeatedText(text, how)).toBe(sealed); // the same text seals to the same bytes

    await keys.erase('tenant-a:cus_1');
    expect(await openSealed(keys, sealed)).toBe(
      `${ERASED_VALUE} wrote to ${ERASED_VALUE}; Ada called +1 555 0100. Al agreed.`,
    );
    expect(await presentSealed(keys, sealed, false)).toBe(
      `${ERASED_VALUE} wrote to ${ERASED_VALUE}; [sealed: tenant-a:cus_2] called [sealed: tenant:tenant-a]. Al agreed.`,
    );
    expect(await holdsErased(keys, { note: sealed })).toBe(true);
  });

  it('seals the strings of a JSON value and returns a text with nothing to seal unchanged', async () => {
    const keys = new MemorySubjectKeyStore();
    const opened = new OpenedValues();
    opened.record('tenant-a:cus_1', 'ada@example.com');
    const how = { keys, tenantId: 'tenant-a', opened, patterns: [] };
    const args = { to: ['ada@example.com'], subject: 'Hello', n: 3 };
    const sealed = (await sealRepeated(args, how)) as { to: string[]; subject: string; n: number };
    expect(sealed.subject).toBe('Hello');
    expect(sealed.n).toBe(3);
    expect(sealed.to[0]).not.toContain('ada@example.com');
    expect(await openSealed(keys, sealed)).toEqual(args);
    expect(await sealRepeatedText('nothing personal', how)).toBe('nothing personal');
  });
});
