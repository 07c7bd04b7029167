import { MongoBlobStore } from '@warden/contracts';
import type { Db } from 'mongodb';
import type { z } from 'zod';
import { ToolRefusedError } from './errors.js';
import { parseAddressRanges } from './address-ranges.js';
import { defineToolDefinition, type ToolDefinition } from './runnable.js';
import { CustomerCollections, type CustomersReader, type KeptSealing } from './stores/customers.js';
import { MongoKeptFiles, type KeptFiles } from './stores/kept-files.js';
import { Workspace } from './stores/workspace.js';

/**
 * What the demo tools' dry runs may read: the customer store, read-only. The guard supplies it (over its own
 * connection); nothing else is needed, as every other demo tool is sized from its arguments alone.
 */
export interface DemoImpactDeps {
  readonly customers: CustomersReader;
}

/**
 * Which hosts http.get may reach: host names or IPs, optionally with a port (`127.0.0.1:8080`). Every address a host
 * resolves to must also be public, unless it lies in one of `allowedRanges`.
 */
export interface HttpAllowlist {
  readonly hosts: readonly string[];
  /**
   * CIDR ranges of non-public addresses (loopback, private, link-local, ...) http.get may nonetheless connect to, e.g.
   * `127.0.0.1/32` for a test server. None by default.
   */
  readonly allowedRanges?: readonly string[];
  /** Response bodies are cut at this size. */
  readonly maxBytes: number;
}

/** The stores the demo tools run on. The executor supplies them. */
export interface DemoToolDeps {
  /** The customer collections (read and write). */
  readonly customers: CustomerCollections;
  /** The sandboxed file workspace. */
  readonly workspace: Workspace;
  /** The database of the outbox, the refunds ledger and the ground-truth collection. */
  readonly db: Db;
  /** The ground-truth collection knowledge.search reads. */
  readonly knowledgeCollection: string;
  /** Where http.get may go. */
  readonly http: HttpAllowlist;
  /** Copies of files as they were before files.write and files.delete changed them (for files.restore). */
  readonly kept: KeptFiles;
}

/**
 * Checks a demo tool's definition (one over the demo stores) and returns it unchanged: defineToolDefinition with
 * the stores fixed, so that run's and estimateImpact's deps are typed. See docs/adding-a-tool.md.
 */
export function defineDemoTool<S extends z.ZodType, O>(
  tool: ToolDefinition<z.infer<S>, O, DemoToolDeps, DemoImpactDeps> & { readonly argsSchema: S },
): ToolDefinition<z.infer<S>, O, DemoToolDeps, DemoImpactDeps> & { readonly argsSchema: S } {
  return defineToolDefinition(tool);
}

/** Where the demo tools' stores are, as a deployment configures them. */
export interface DemoToolStores {
  readonly db: Db;
  readonly customerCollections: readonly string[];
  readonly knowledgeCollection: string;
  readonly workspaceRoot: string;
  readonly httpAllowlist: readonly string[];
  /** CIDR ranges of non-public addresses http.get may reach (HttpAllowlist.allowedRanges); none when absent. */
  readonly httpAllowedRanges?: readonly string[];
  readonly httpMaxBytes: number;
  /**
   * Seal the personal fields of the copies kept for undo (customer versions and archived records) under each
   * customer's key (ADR 0026: `warden erase` shreds them); absent: kept as they were.
   */
  readonly keptSealing?: KeptSealing;
}

/** The GridFS bucket of kept file copies (content-addressed, apart from the claim-check blobs). */
export const KEPT_FILES_BUCKET = 'warden_kept_files';

/** The demo tools' stores, opened on a database and a workspace root. */
export function demoToolDeps(stores: DemoToolStores): DemoToolDeps {
  return {
    customers: new CustomerCollections(stores.db, new Set(stores.customerCollections), stores.keptSealing),
    workspace: new Workspace(stores.workspaceRoot),
    db: stores.db,
    knowledgeCollection: stores.knowledgeCollection,
    http: {
      hosts: stores.httpAllowlist,
      // Checked here, so that a malformed range stops the executor at start rather than failing each call.
      allowedRanges: (parseAddressRanges(stores.httpAllowedRanges ?? []), stores.httpAllowedRanges ?? []),
      maxBytes: stores.httpMaxBytes,
    },
    kept: new MongoKeptFiles(stores.db, new MongoBlobStore(stores.db, KEPT_FILES_BUCKET)),
  };
}

/** What the demo tools' dry runs read, on a database: its customer collections (any other is refused). */
export function demoImpactDeps(db: Db, customerCollections: readonly string[]): DemoImpactDeps {
  return { customers: new CustomerCollections(db, new Set(customerCollections)) };
}

/**
 * Dry-run stores for an offline estimate (a backtest, with no database): a tool sized from its arguments answers,
 * a tool that must count in a store is refused, so its impact is unknown.
 */
export const offlineImpactDeps: DemoImpactDeps = {
  customers: {
    read: (name) => {
      throw new ToolRefusedError(`offline estimate: no customer store to count in (collection ${name})`);
    },
  },
};
