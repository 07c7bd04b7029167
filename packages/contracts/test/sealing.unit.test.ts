import {
  ERASED_VALUE,
  MemorySubjectKeyStore,
  SEALED_FIELD,
  canonicalHash,
  eventDataSchemas,
  isSealed,
  openSealed,
  sealValue,
  outOfChainEventTypes,
  subjectErasedDraft,
} from '@warden/contracts';
import { describe, expect, it } from 'vitest';

describe('sealing personal data (crypto-shredding)', () => {
  it('seals a value under its subject key, opens it for a reader with the keys, and reads erased once the key is gone', async () => {
    const keys = new MemorySubjectKeyStore();
    const sealed = await sealValue(keys, 't1:cus_1', 'ada@example.com');
    expect(isSealed(sealed)).toBe(true);
    expect(JSON.stringify(sealed)).not.toContain('ada@example.com');
    const doc = { rows: [{ id: 'cus_1', email: sealed, plan: 'gold' }] };
    const hash = canonicalHash(doc);
    await expect(openSealed(keys, doc)).resolves.toEqual({
      rows: [{ id: 'cus_1', email: 'ada@example.com', plan: 'gold' }],
    });
    expect(await keys.erase('t1:cus_1')).toBe(1);
    await expect(openSealed(keys, doc)).resolves.toEqual({
      rows: [{ id: 'cus_1', email: ERASED_VALUE, plan: 'gold' }],
    });
    expect(canonicalHash(doc)).toBe(hash); // what the chain hashes did not change
    expect(await keys.erase('t1:cus_1')).toBe(0);
  });

  it('refuses a sealed value that was altered or moved to another subject', async () => {
    const keys = new MemorySubjectKeyStore();
    const sealed = await sealValue(keys, 't1:cus_1', { name: 'Ada' });
    const s = sealed[SEALED_FIELD];
    const flipped = Buffer.from(s.data, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    await expect(openSealed(keys, { [SEALED_FIELD]: { ...s, data: flipped.toString('base64') } })).rejects.toThrow();
    // the same ciphertext claimed for another subject whose key id happens to match: the AAD binds the subject
    const other = await keys.keyFor('t1:cus_2');
    await expect(
      openSealed(
        { find: () => Promise.resolve(other), keyFor: () => Promise.resolve(other), erase: () => Promise.resolve(0) },
        { [SEALED_FIELD]: { ...s, subject: 't1:cus_2', keyId: other.keyId } },
      ),
    ).rejects.toThrow();
  });

  it('records an erasure as an audit event outside any task chain', () => {
    const draft = subjectErasedDraft(
      { subject: 't1:cus_1', keysDeleted: 1, erasedBy: { id: 'dpo', kind: 'user' }, reason: 'GDPR art. 17' },
      { tenantId: 't1', producer: 'test' },
    );
    expect(eventDataSchemas.SubjectErased.safeParse(draft.data).success).toBe(true);
    expect(draft.taskId).toMatch(/^erasure:t1:cus_1:/);
    expect(outOfChainEventTypes.has('SubjectErased')).toBe(true);
  });
});
