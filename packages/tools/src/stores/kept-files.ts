import { MemoryBlobStore, isDuplicateKeyError, sha256Hex, type BlobStore } from '@warden/contracts';
import type { Collection, Db } from 'mongodb';

/** What a file held before an effect changed it: the sha256 of its content (kept), or null when it did not exist. */
export interface KeptVersionDoc {
  /** `effectKey|path`. */
  _id: string;
  effectKey: string;
  path: string;
  previousSha256: string | null;
  keptAt: Date;
}

/** The content type kept copies are stored under. */
const KEPT_CONTENT_TYPE = 'application/octet-stream';

/**
 * Copies of files as they were before files.write or files.delete changed them, kept under the effect key (ADR 0026).
 */
export interface KeptFiles {
  /**
   * Records what `path` held before the effect `effectKey` (its content, or null when absent), unless a record of
   * this effect and path exists already; returns the recorded sha256 (the earlier record's on a re-run).
   */
  keep(effectKey: string, path: string, content: Uint8Array | null): Promise<string | null>;
  /**
   * The record of one effect and path, or undefined when there is none. Read by its `_id` (`effectKey|path`): the
   * `_id` index on MongoDB; on FerretDB 1.24 a scan in SQLite that decodes no document, 15-40x cheaper than a query on
   * another field (ADR 0030, issue 17), though it still grows with the records kept.
   */
  recordOf(effectKey: string, path: string): Promise<{ previousSha256: string | null } | undefined>;
  /** The kept content with this sha256 (checked), or undefined when it was never kept. */
  content(sha256: string): Promise<Uint8Array | undefined>;
}

/**
 * Kept copies in MongoDB: copies of files as they were before files.write or files.delete changed them (ADR 0026): the content in a
 * content-addressed blob store (stored once per content), and, per effect and path, which content that was. The
 * first record of an effect wins, so a re-run after a crash (when the file already holds the new content, or is
 * gone) still reports what was there before the effect. files.restore reads the copies back.
 */
export class MongoKeptFiles implements KeptFiles {
  private readonly versions: Collection<KeptVersionDoc>;

  constructor(
    db: Db,
    private readonly blobs: BlobStore,
    collection = 'kept_file_versions',
  ) {
    this.versions = db.collection<KeptVersionDoc>(collection);
  }

  async keep(effectKey: string, path: string, content: Uint8Array | null): Promise<string | null> {
    const _id = `${effectKey}|${path}`;
    const existing = await this.versions.findOne({ _id });
    if (existing !== null) return existing.previousSha256;
    const previousSha256 = content === null ? null : (await this.blobs.put(content, KEPT_CONTENT_TYPE)).sha256;
    try {
      await this.versions.insertOne({ _id, effectKey, path, previousSha256, keptAt: new Date() });
      return previousSha256;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      return (await this.versions.findOne({ _id }))?.previousSha256 ?? previousSha256;
    }
  }

  async recordOf(effectKey: string, path: string): Promise<{ previousSha256: string | null } | undefined> {
    const doc = await this.versions.findOne({ _id: `${effectKey}|${path}` });
    return doc === null ? undefined : { previousSha256: doc.previousSha256 };
  }

  async content(sha256: string): Promise<Uint8Array | undefined> {
    return checked(await this.blobs.get(sha256), sha256);
  }
}

const checked = (bytes: Uint8Array | undefined, sha256: string): Uint8Array | undefined =>
  bytes === undefined || sha256Hex(bytes) !== sha256 ? undefined : bytes;

/** Kept copies in memory, for unit tests and offline tools. */
export class MemoryKeptFiles implements KeptFiles {
  private readonly blobs = new MemoryBlobStore();
  private readonly versions = new Map<string, { effectKey: string; path: string; previousSha256: string | null }>();

  async keep(effectKey: string, path: string, content: Uint8Array | null): Promise<string | null> {
    const id = `${effectKey}|${path}`;
    const existing = this.versions.get(id);
    if (existing !== undefined) return existing.previousSha256;
    const previousSha256 = content === null ? null : (await this.blobs.put(content, KEPT_CONTENT_TYPE)).sha256;
    this.versions.set(id, { effectKey, path, previousSha256 });
    return previousSha256;
  }

  recordOf(effectKey: string, path: string): Promise<{ previousSha256: string | null } | undefined> {
    const v = this.versions.get(`${effectKey}|${path}`);
    return Promise.resolve(v === undefined ? undefined : { previousSha256: v.previousSha256 });
  }

  async content(sha256: string): Promise<Uint8Array | undefined> {
    return checked(await this.blobs.get(sha256), sha256);
  }
}
