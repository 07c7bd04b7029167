import {
  CachedSubjectKeyStore,
  ERASED_VALUE,
  MemorySubjectKeyStore,
  SEALED_FIELD,
  canonicalHash,
  eventDataSchemas,
  holdsErased,
  isSealed,
  openSealed,
  openSealedInText,
  presentSealed,
  sealValue,
  sealedTextPiece,
  withPlaceholders,
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

/** A key store that counts its lookups (to see what a cache saves). */
class CountingStore extends MemorySubjectKeyStore {
  finds = 0;
  override find(subject: string, keyId: string) {
    this.finds++;
    return super.find(subject, keyId);
  }
}

describe('a cached subject key store', () => {
  it("looks a key up once per lifetime, sees its own erasure at once and another process's once the entry expires", async () => {
    const store = new CountingStore();
    const cached = new CachedSubjectKeyStore(store, { maxKeys: 100, ttlMs: 60_000 });
    const sealed = await sealValue(store, 't1:cus_1', 'ada@example.com');
    for (let i = 0; i < 5; i++) await expect(openSealed(cached, sealed)).resolves.toBe('ada@example.com');
    expect(store.finds).toBe(1);
    await store.erase('t1:cus_1'); // another process erases
    await expect(openSealed(cached, sealed)).resolves.toBe('ada@example.com'); // until the entry expires
    cached.forget('t1:cus_1'); // or until its SubjectErased is read
    await expect(openSealed(cached, sealed)).resolves.toBe(ERASED_VALUE);
    expect(store.finds).toBe(2);
    const fresh = new CachedSubjectKeyStore(store, { maxKeys: 100, ttlMs: 60_000 });
    await expect(openSealed(fresh, sealed)).resolves.toBe(ERASED_VALUE);
    await fresh.erase('t1:cus_1'); // nothing left to erase; still erased
    await expect(openSealed(fresh, sealed)).resolves.toBe(ERASED_VALUE);
  });

  it('an erasure through it holds at once; a later key of the same subject is not taken for erased', async () => {
    const store = new MemorySubjectKeyStore();
    const cached = new CachedSubjectKeyStore(store, { maxKeys: 100, ttlMs: 60_000 });
    const before = await sealValue(cached, 't1:cus_2', 'bob@example.com');
    await expect(openSealed(cached, before)).resolves.toBe('bob@example.com');
    expect(await cached.erase('t1:cus_2')).toBe(1);
    await expect(openSealed(cached, before)).resolves.toBe(ERASED_VALUE);
    const after = await sealValue(cached, 't1:cus_2', 'bob@new.example.com'); // a new key for new data
    await expect(openSealed(cached, after)).resolves.toBe('bob@new.example.com');
    await expect(openSealed(cached, before)).resolves.toBe(ERASED_VALUE);
  });
});

describe('sealed values inside a text', () => {
  it('opens each sealed JSON value in a rendered text, shows an erased one as erased, and leaves a cut one sealed', async () => {
    const keys = new MemorySubjectKeyStore();
    const ada = await sealValue(keys, 't1:cus_1', 'ada@example.com');
    const bob = await sealValue(keys, 't1:cus_2', { name: 'Bob', email: 'bob@example.com' });
    const text = JSON.stringify({ rows: [{ email: ada }, { contact: bob }], plan: 'gold' });
    const opened = await openSealedInText(keys, text);
    expect(JSON.parse(opened)).toEqual({
      rows: [{ email: 'ada@example.com' }, { contact: { name: 'Bob', email: 'bob@example.com' } }],
      plan: 'gold',
    });
    await keys.erase('t1:cus_2');
    expect(JSON.parse(await openSealedInText(keys, text))).toEqual({
      rows: [{ email: 'ada@example.com' }, { contact: ERASED_VALUE }],
      plan: 'gold',
    });
    const cut = text.slice(0, text.indexOf(SEALED_FIELD) + 40);
    expect(await openSealedInText(keys, cut)).toBe(cut);
    expect(await openSealedInText(keys, 'no sealed value here')).toBe('no sealed value here');
  });
});

describe('a sealed value as a reader is shown it', () => {
  it('opened for a reader allowed to open it, a placeholder for others, and [erased] for both once erased', async () => {
    const keys = new MemorySubjectKeyStore();
    const doc = { to: [await sealValue(keys, 't1:cus_1', 'ada@example.com')], subject: 'Hi' };
    expect(await presentSealed(keys, doc, true)).toEqual({ to: ['ada@example.com'], subject: 'Hi' });
    expect(await presentSealed(keys, doc, false)).toEqual({ to: ['[sealed: t1:cus_1]'], subject: 'Hi' });
    await keys.erase('t1:cus_1');
    expect(await presentSealed(keys, doc, true)).toEqual({ to: [ERASED_VALUE], subject: 'Hi' });
    expect(await presentSealed(keys, doc, false)).toEqual({ to: [ERASED_VALUE], subject: 'Hi' });
  });
});

describe('a subject key cache with a lifetime of 0', () => {
  it("caches nothing (lru-cache would read 0 as for ever): another process's erasure holds at once", async () => {
    const store = new CountingStore();
    const cached = new CachedSubjectKeyStore(store, { maxKeys: 100, ttlMs: 0 });
    const sealed = await sealValue(cached, 't1:cus_3', 'cy@example.com');
    await expect(openSealed(cached, sealed)).resolves.toBe('cy@example.com');
    await expect(openSealed(cached, sealed)).resolves.toBe('cy@example.com');
    expect(store.finds).toBe(2);
    await store.erase('t1:cus_3');
    await expect(openSealed(cached, sealed)).resolves.toBe(ERASED_VALUE);
  });
});

describe('pieces of a text sealed in place (ADR 0026)', () => {
  it('open back exactly, seal the same piece to the same bytes, and show as placeholders without a key', async () => {
    const keys = new MemorySubjectKeyStore();
    const piece = await sealedTextPiece(keys, 'tenant-a:cus_1', 'ada@example.com');
    expect(await sealedTextPiece(keys, 'tenant-a:cus_1', 'ada@example.com')).toBe(piece); // synthetic nonce
    expect(await sealedTextPiece(keys, 'tenant-a:cus_1', 'bob@example.com')).not.toBe(piece);
    const text = `mail ${piece} today`;
    expect(await openSealed(keys, text)).toBe('mail ada@example.com today');
    expect(await openSealedInText(keys, text)).toBe('mail ada@example.com today');
    expect(withPlaceholders({ to: [text] })).toEqual({ to: ['mail [sealed: tenant-a:cus_1] today'] });
    expect(await holdsErased(keys, text)).toBe(false);
    // a tampered piece does not open as anything else
    const tampered = text.replace(/"data":"[^"]+"/, '"data":"AAAA"');
    await expect(openSealed(keys, tampered)).rejects.toThrow();
    await keys.erase('tenant-a:cus_1');
    expect(await openSealed(keys, text)).toBe(`mail ${ERASED_VALUE} today`);
    expect(await holdsErased(keys, text)).toBe(true);
  });
});
