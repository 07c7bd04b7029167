/**
 * Sealing personal data for crypto-shredding (ADR 0026): a value is encrypted (AES-256-GCM) with its data subject's
 * key before it is written to the immutable log, and stays there as a sealed value; hashes and chains cover the
 * sealed form. Deleting the subject's key (erasure) makes every sealed value of that subject unreadable for ever,
 * while the chain still verifies. Keys live behind a KMS-like interface (SubjectKeyStore); MongoDB implements it here.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Collection, Db } from 'mongodb';
import type { EventDraft } from './chain.js';
import type { JsonValue } from './common-schemas.js';
import type { EventDataInput } from './events.js';
import { MAX_ID_CHARS } from './limits.js';
import { isDuplicateKeyError } from './mongo-errors.js';

/**
 * The key of a sealed value's only field. Not `$`-prefixed: MongoDB refuses such keys, and workers keep results in
 * their state documents.
 */
export const SEALED_FIELD = '__wardenSealed';

/** What a reader shows in place of a value whose subject was erased. */
export const ERASED_VALUE = '[erased]';

/** A value sealed with its subject's key. */
export type SealedValue = {
  readonly [SEALED_FIELD]: {
    readonly v: 1;
    readonly alg: 'A256GCM';
    /** The data subject (e.g. `tenant-a:cus_1042`, or `tenant:tenant-a` with per-tenant keys). */
    readonly subject: string;
    readonly keyId: string;
    /** base64: the 12-byte nonce, the ciphertext of the value's JSON, the 16-byte tag. */
    readonly iv: string;
    readonly data: string;
    readonly tag: string;
    /**
     * Written inside a text (a piece of a model's answer, reasoning or argument string): it opens to its clear string
     * as it stood in the text, not to that string's JSON (ADR 0026).
     */
    readonly text?: true;
  };
};

/** True when `value` is a sealed value. */
export function isSealed(value: unknown): value is SealedValue {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== SEALED_FIELD) return false;
  const s = (value as Record<string, unknown>)[SEALED_FIELD] as Record<string, unknown> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    s.v === 1 &&
    typeof s.subject === 'string' &&
    typeof s.keyId === 'string' &&
    typeof s.iv === 'string' &&
    typeof s.data === 'string' &&
    typeof s.tag === 'string'
  );
}

/** A data subject's key. */
export interface SubjectKey {
  readonly keyId: string;
  /** 32 bytes. */
  readonly key: Uint8Array;
}

/** A KMS-like store of data subjects' keys. */
export interface SubjectKeyStore {
  /** The subject's key, created on first use. */
  keyFor(subject: string): Promise<SubjectKey>;
  /** The key with this id of the subject, or undefined when it was erased (or never existed). */
  find(subject: string, keyId: string): Promise<SubjectKey | undefined>;
  /** Deletes the subject's keys (crypto-shredding); the number deleted. */
  erase(subject: string): Promise<number>;
}

/** A subject key as MongoDB stores it. */
export interface SubjectKeyDoc {
  /** The subject. */
  _id: string;
  keyId: string;
  key: string;
  createdAt: Date;
}

/** Subject keys in a MongoDB collection, one document per subject (FerretDB: looked up by _id only). */
export class MongoSubjectKeyStore implements SubjectKeyStore {
  private readonly keys: Collection<SubjectKeyDoc>;

  constructor(db: Db, collection = 'warden_subject_keys') {
    this.keys = db.collection<SubjectKeyDoc>(collection);
  }

  async keyFor(subject: string): Promise<SubjectKey> {
    const existing = await this.keys.findOne({ _id: subject });
    if (existing !== null) return fromDoc(existing);
    const doc: SubjectKeyDoc = {
      _id: subject,
      keyId: randomUUID(),
      key: randomBytes(32).toString('base64'),
      createdAt: new Date(),
    };
    try {
      await this.keys.insertOne(doc);
      return fromDoc(doc);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const raced = await this.keys.findOne({ _id: subject });
      if (raced === null) throw error;
      return fromDoc(raced);
    }
  }

  async find(subject: string, keyId: string): Promise<SubjectKey | undefined> {
    const doc = await this.keys.findOne({ _id: subject });
    return doc !== null && doc.keyId === keyId ? fromDoc(doc) : undefined;
  }

  async erase(subject: string): Promise<number> {
    return (await this.keys.deleteOne({ _id: subject })).deletedCount;
  }
}

const fromDoc = (doc: SubjectKeyDoc): SubjectKey => ({ keyId: doc.keyId, key: Buffer.from(doc.key, 'base64') });

/** How a worker caches subject keys: how many, and for how long (the delay before another process's erasure holds). */
export interface SubjectKeyCacheSettings {
  readonly maxKeys: number;
  readonly ttlMs: number;
}

/**
 * A subject key store with a bounded cache in front (ADR 0026): the workers that seal or open values per event look
 * each subject's key up in MongoDB once per `ttlMs` at most, not per value. An erasure through this store drops the
 * key from its cache at once; an erasure by another process (`warden erase`) holds here once the cached entry has
 * expired, so `ttlMs` bounds how long a worker may still open an erased subject's values in memory. An erased
 * subject is cached as erased too (for the same time), so its values do not cost a lookup each.
 */
export class CachedSubjectKeyStore implements SubjectKeyStore {
  /** Subject → its key, as last read or made. */
  private readonly keys: LRUCache<string, SubjectKey>;
  /** `subject NUL keyId` of keys found missing (erased): a later key of the same subject is not among them. */
  private readonly missing: LRUCache<string, true>;
  /** False with a lifetime of 0: every lookup goes to the store. */
  private readonly enabled: boolean;

  constructor(
    private readonly store: SubjectKeyStore,
    settings: SubjectKeyCacheSettings,
  ) {
    // lru-cache reads a ttl of 0 as "for ever": a lifetime of 0 here means no cache, so cache nothing at all.
    const max = settings.ttlMs === 0 ? 1 : settings.maxKeys;
    this.keys = new LRUCache({ max, ttl: Math.max(1, settings.ttlMs) });
    this.missing = new LRUCache({ max, ttl: Math.max(1, settings.ttlMs) });
    this.enabled = settings.ttlMs > 0;
  }

  async keyFor(subject: string): Promise<SubjectKey> {
    const cached = this.keys.get(subject);
    if (cached !== undefined) return cached;
    const key = await this.store.keyFor(subject);
    if (this.enabled) this.keys.set(subject, key);
    return key;
  }

  async find(subject: string, keyId: string): Promise<SubjectKey | undefined> {
    const cached = this.keys.get(subject);
    if (cached?.keyId === keyId) return cached;
    if (this.missing.has(`${subject}\u0000${keyId}`)) return undefined;
    const key = await this.store.find(subject, keyId);
    if (!this.enabled) return key;
    if (key === undefined) this.missing.set(`${subject}\u0000${keyId}`, true);
    else this.keys.set(subject, key);
    return key;
  }

  /**
   * Drops a subject's cached key (another process erased it: its SubjectErased event was read), so that the next
   * lookup asks the store, which no longer has it. A reader of the log calls this to make an erasure hold at once.
   */
  forget(subject: string): void {
    const cached = this.keys.get(subject);
    this.keys.delete(subject);
    if (cached !== undefined) this.missing.delete(`${subject}\u0000${cached.keyId}`);
  }

  async erase(subject: string): Promise<number> {
    const erased = await this.store.erase(subject);
    const cached = this.keys.get(subject);
    this.keys.delete(subject);
    if (cached !== undefined && this.enabled) this.missing.set(`${subject}\u0000${cached.keyId}`, true);
    return erased;
  }
}

/** Subject keys in memory, for unit tests. */
export class MemorySubjectKeyStore implements SubjectKeyStore {
  private readonly keys = new Map<string, SubjectKey>();

  keyFor(subject: string): Promise<SubjectKey> {
    let key = this.keys.get(subject);
    if (key === undefined) this.keys.set(subject, (key = { keyId: randomUUID(), key: randomBytes(32) }));
    return Promise.resolve(key);
  }

  find(subject: string, keyId: string): Promise<SubjectKey | undefined> {
    const key = this.keys.get(subject);
    return Promise.resolve(key?.keyId === keyId ? key : undefined);
  }

  erase(subject: string): Promise<number> {
    return Promise.resolve(this.keys.delete(subject) ? 1 : 0);
  }
}

/** The additional authenticated data: a sealed value opens only as its own subject's, under its own key id. */
const aad = (subject: string, keyId: string): Buffer => Buffer.from(`warden-sealed:v1:${subject}:${keyId}`, 'utf8');

/**
 * The nonce of a piece sealed in a text: derived from the key and the clear piece (a synthetic IV), so the same piece
 * seals the same way and a proposal repeated word for word keeps its args hash (loop detection compares it). Equal
 * pieces of one subject are thus seen to be equal, never what they are; distinct pieces never share a nonce.
 */
function syntheticIv(key: Uint8Array, subject: string, json: string): Buffer {
  const ivKey = createHmac('sha256', key).update('warden-sealed-iv:v1').digest();
  return createHmac('sha256', ivKey).update(`${subject}\u0000${json}`).digest().subarray(0, 12);
}

/**
 * Seals a JSON value with the subject's key. `inText`: to be written as a piece of a text (sealedTextPiece), with a
 * synthetic nonce (the same piece seals to the same text).
 */
export async function sealValue(
  keys: SubjectKeyStore,
  subject: string,
  value: JsonValue,
  inText = false,
): Promise<SealedValue> {
  const { keyId, key } = await keys.keyFor(subject);
  const json = JSON.stringify(value);
  const iv = inText ? syntheticIv(key, subject, json) : randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(subject, keyId));
  const data = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
  return {
    [SEALED_FIELD]: {
      v: 1,
      alg: 'A256GCM',
      subject,
      keyId,
      iv: iv.toString('base64'),
      data: data.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ...(inText ? { text: true as const } : {}),
    },
  };
}

/**
 * A piece of a text sealed with the subject's key: the sealed value's JSON, written in place of the clear piece.
 * openSealedInText (and openSealed, on a string) puts the clear piece back exactly as it stood.
 */
export async function sealedTextPiece(keys: SubjectKeyStore, subject: string, piece: string): Promise<string> {
  return JSON.stringify(await sealValue(keys, subject, piece, true));
}

/** Told of each sealed value opened: its subject and its clear value (the planner reseals what the model repeats). */
export type OnOpened = (subject: string, clear: JsonValue) => void;

/** The clear value of one sealed value, or ERASED_VALUE when its key is gone. */
async function openOne(keys: SubjectKeyStore, value: SealedValue, onOpened?: OnOpened): Promise<JsonValue> {
  const s = value[SEALED_FIELD];
  const key = await keys.find(s.subject, s.keyId);
  if (key === undefined) return ERASED_VALUE;
  const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(s.iv, 'base64'));
  decipher.setAAD(aad(s.subject, s.keyId));
  decipher.setAuthTag(Buffer.from(s.tag, 'base64'));
  const clear = JSON.parse(
    Buffer.concat([decipher.update(Buffer.from(s.data, 'base64')), decipher.final()]).toString('utf8'),
  ) as JsonValue;
  onOpened?.(s.subject, clear);
  return clear;
}

/**
 * Opens every sealed value inside `value` (at any depth): the clear value where the subject's key is there,
 * ERASED_VALUE where it was erased. A sealed value that does not authenticate under its key throws (tampering).
 */
export async function openSealed(keys: SubjectKeyStore, value: JsonValue, onOpened?: OnOpened): Promise<JsonValue> {
  if (isSealed(value)) return openOne(keys, value, onOpened);
  if (typeof value === 'string') return openSealedInText(keys, value, onOpened);
  if (Array.isArray(value)) return Promise.all(value.map((v) => openSealed(keys, v, onOpened)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await openSealed(keys, v, onOpened);
    return out;
  }
  return value;
}

/** True when a value holds a sealed value (at any depth, in a string too) that the keys cannot open: it was erased. */
export async function holdsErased(keys: SubjectKeyStore, value: JsonValue): Promise<boolean> {
  if (isSealed(value)) return (await keys.find(value[SEALED_FIELD].subject, value[SEALED_FIELD].keyId)) === undefined;
  if (typeof value === 'string') {
    for (const piece of sealedPiecesOf(value)) if (await holdsErased(keys, piece)) return true;
    return false;
  }
  if (Array.isArray(value)) {
    for (const v of value) if (await holdsErased(keys, v)) return true;
    return false;
  }
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) if (await holdsErased(keys, v)) return true;
  }
  return false;
}

/**
 * A value as a reader is shown it (at any depth): with `open`, each sealed value opened (openSealed); without, a
 * sealed value whose subject's key is gone as ERASED_VALUE and any other as its placeholder (whose it is, never
 * what). Either way an erased value reads `[erased]`.
 */
export async function presentSealed(keys: SubjectKeyStore, value: JsonValue, open: boolean): Promise<JsonValue> {
  if (open) return openSealed(keys, value);
  if (isSealed(value)) return presentOne(keys, value);
  if (typeof value === 'string') return replaceSealedPieces(value, async (piece) => presentOne(keys, piece));
  if (Array.isArray(value)) return Promise.all(value.map((v) => presentSealed(keys, v, false)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await presentSealed(keys, v, false);
    return out;
  }
  return value;
}

async function presentOne(keys: SubjectKeyStore, value: SealedValue): Promise<string> {
  const s = value[SEALED_FIELD];
  return (await keys.find(s.subject, s.keyId)) === undefined ? ERASED_VALUE : sealedPlaceholder(value);
}

/** A sealed value as JSON text: its one field holds an object of strings and a number, with no nested braces. */
const SEALED_IN_TEXT = new RegExp(`\\{"${SEALED_FIELD}":\\{[^{}]*\\}\\}`, 'g');

/** A text cut into the pieces that are sealed values written as JSON (`sealed`) and the text between them. */
export function sealedTextSegments(text: string): { readonly text: string; readonly sealed: boolean }[] {
  if (!text.includes(SEALED_FIELD)) return [{ text, sealed: false }];
  const out: { text: string; sealed: boolean }[] = [];
  let at = 0;
  for (const m of text.matchAll(SEALED_IN_TEXT)) {
    if (m.index > at) out.push({ text: text.slice(at, m.index), sealed: false });
    out.push({ text: m[0], sealed: true });
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at), sealed: false });
  return out;
}

/** The sealed values written as JSON inside a text. */
function sealedPiecesOf(text: string): SealedValue[] {
  if (!text.includes(SEALED_FIELD)) return [];
  const out: SealedValue[] = [];
  for (const m of text.matchAll(SEALED_IN_TEXT)) {
    try {
      const parsed: unknown = JSON.parse(m[0]);
      if (isSealed(parsed)) out.push(parsed);
    } catch {
      // a truncated piece: not a sealed value
    }
  }
  return out;
}

/**
 * The text with each sealed value written in it replaced by what `render` makes of it. A piece that does not parse
 * as a sealed value (a truncated one) stays as it is: the text never gains clear data it did not seal.
 */
async function replaceSealedPieces(text: string, render: (piece: SealedValue) => Promise<string>): Promise<string> {
  if (!text.includes(SEALED_FIELD)) return text;
  const pieces = [...text.matchAll(SEALED_IN_TEXT)];
  const rendered = await Promise.all(
    pieces.map(async (m) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(m[0]);
      } catch {
        return m[0];
      }
      return isSealed(parsed) ? render(parsed) : m[0];
    }),
  );
  let i = 0;
  return text.replace(SEALED_IN_TEXT, () => rendered[i++]!);
}

/**
 * Opens the sealed values written as JSON inside a text: a tool result rendered into a model's context (each sealed
 * value replaced by its clear value's JSON) or a model's text sealed piece by piece (sealedTextPiece: each piece put
 * back as it stood). An erased one reads ERASED_VALUE (as JSON in a result, as is in a text).
 */
export async function openSealedInText(keys: SubjectKeyStore, text: string, onOpened?: OnOpened): Promise<string> {
  return replaceSealedPieces(text, async (piece) => {
    const clear = await openOne(keys, piece, onOpened);
    return piece[SEALED_FIELD].text === true && typeof clear === 'string' ? clear : JSON.stringify(clear);
  });
}

/**
 * A value with each sealed value (at any depth, pieces of a text too) shown as its placeholder, with no key lookup:
 * a compact display (a CLI line) for a reader that does not open them.
 */
export function withPlaceholders(value: JsonValue): JsonValue {
  if (isSealed(value)) return sealedPlaceholder(value);
  if (typeof value === 'string') {
    if (!value.includes(SEALED_FIELD)) return value;
    return value.replace(SEALED_IN_TEXT, (piece) => {
      try {
        const parsed: unknown = JSON.parse(piece);
        return isSealed(parsed) ? sealedPlaceholder(parsed) : piece;
      } catch {
        return piece;
      }
    });
  }
  if (Array.isArray(value)) return value.map(withPlaceholders);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPlaceholders(v)]));
  }
  return value;
}

/** What a reader without the right role shows of a sealed value: that it is sealed, and whose, never its content. */
export function sealedPlaceholder(value: SealedValue): string {
  return `[sealed: ${value[SEALED_FIELD].subject}]`;
}

/**
 * The SubjectErased event of one erasure, keyed `erasure:<subject>:<id>`: an audit event of the log that joins no
 * task's chain (an out-of-chain type, as a dead letter is).
 */
export function subjectErasedDraft(
  data: EventDataInput<'SubjectErased'>,
  options: { tenantId: string; producer: string; now?: Date },
): EventDraft<'SubjectErased'> {
  const id = randomUUID();
  const taskId = `erasure:${data.subject}:${id}`.slice(0, MAX_ID_CHARS);
  return {
    causationId: null,
    correlationId: taskId,
    data,
    id,
    occurredAt: (options.now ?? new Date()).toISOString(),
    policyVersion: 'none',
    prevHashes: [],
    producer: options.producer,
    seq: 0,
    taskId,
    tenantId: options.tenantId,
    type: 'SubjectErased',
  };
}
