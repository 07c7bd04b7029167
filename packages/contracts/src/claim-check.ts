import { GridFSBucket, type Db } from 'mongodb';
import { sha256Hex } from './canonical.js';
import { BlobCorruptError, BlobMissingError } from './errors.js';

/** The reference an event carries instead of a large payload. */
export interface BlobPointer {
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly contentType: string;
}

/** A content-addressed store of large payloads. */
export interface BlobStore {
  /** Stores the bytes (once per content) and returns their pointer. */
  put(bytes: Uint8Array, contentType: string): Promise<BlobPointer>;
  /** The bytes stored under a sha256, or undefined. */
  get(sha256: string): Promise<Uint8Array | undefined>;
}

/** Fetches a blob and checks its sha256 and size; throws BlobMissingError or BlobCorruptError. */
export async function fetchVerified(store: BlobStore, pointer: BlobPointer): Promise<Uint8Array> {
  const bytes = await store.get(pointer.sha256);
  if (bytes === undefined) {
    throw new BlobMissingError(`claim-checked blob ${pointer.sha256} is not in the blob store`, {
      details: { sha256: pointer.sha256 },
    });
  }
  const actual = sha256Hex(bytes);
  if (actual !== pointer.sha256 || bytes.byteLength !== pointer.sizeBytes) {
    throw new BlobCorruptError(
      `claim-checked blob ${pointer.sha256} does not match: got sha256 ${actual} and ${bytes.byteLength} bytes, expected ${pointer.sizeBytes}`,
      { details: { sha256: pointer.sha256, actual, sizeBytes: bytes.byteLength } },
    );
  }
  return bytes;
}

/**
 * A BlobStore in MongoDB through GridFS (chunked, so payloads may exceed the 16 MB document limit). The file name
 * is the content's sha256; storing the same content twice keeps one copy.
 */
export class MongoBlobStore implements BlobStore {
  private readonly bucket: GridFSBucket;

  constructor(db: Db, bucketName = 'warden_blobs') {
    this.bucket = new GridFSBucket(db, { bucketName, chunkSizeBytes: 1024 * 1024 });
  }

  async put(bytes: Uint8Array, contentType: string): Promise<BlobPointer> {
    const sha256 = sha256Hex(bytes);
    const pointer = { sha256, sizeBytes: bytes.byteLength, contentType };
    const existing = await this.bucket.find({ filename: sha256 }, { limit: 1 }).toArray();
    if (existing.length > 0) return pointer;
    await new Promise<void>((resolve, reject) => {
      const upload = this.bucket.openUploadStream(sha256, { metadata: { contentType, sizeBytes: bytes.byteLength } });
      upload.once('error', reject);
      upload.once('finish', () => resolve());
      upload.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    });
    return pointer;
  }

  async get(sha256: string): Promise<Uint8Array | undefined> {
    const files = await this.bucket.find({ filename: sha256 }, { limit: 1 }).toArray();
    const file = files[0];
    if (file === undefined) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of this.bucket.openDownloadStream(file._id)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
}

/** A BlobStore in memory, for unit tests and tools. */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, Uint8Array>();

  put(bytes: Uint8Array, contentType: string): Promise<BlobPointer> {
    const sha256 = sha256Hex(bytes);
    this.blobs.set(sha256, Uint8Array.from(bytes));
    return Promise.resolve({ sha256, sizeBytes: bytes.byteLength, contentType });
  }

  get(sha256: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.blobs.get(sha256));
  }

  /** Overwrites a stored blob (to test corruption). */
  tamper(sha256: string, bytes: Uint8Array): void {
    this.blobs.set(sha256, bytes);
  }
}
