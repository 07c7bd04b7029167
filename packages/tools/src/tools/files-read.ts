import { open } from 'node:fs/promises';
import { noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { Count, FilePath } from './fields.js';

const DEFAULT_MAX_BYTES = 1024 * 1024;

/** files.read: reads a file of the workspace (UTF-8), up to maxBytes; sizeBytes is the whole file's size. */
export const filesRead = defineDemoTool({
  name: 'files.read',
  description: 'Read a file',
  destructive: false,
  riskTier: 'low',
  argsSchema: z.object({ path: FilePath, maxBytes: z.number().int().min(1).max(50_000_000).optional() }).strict(),
  outputSchema: z.object({ content: z.string(), sizeBytes: Count }),
  resources: { paths: ['path'] },
  outputTrust: 'untrusted', // text a third party wrote
  criticalFields: [],
  estimateImpact: () => Promise.resolve(noImpact),
  run: async (args, deps, ctx) => {
    const path = await deps.workspace.resolve(args.path);
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, args.maxBytes ?? DEFAULT_MAX_BYTES);
      const buffer = Buffer.alloc(length);
      let offset = 0;
      while (offset < length) {
        ctx.signal.throwIfAborted();
        const { bytesRead } = await handle.read(buffer, offset, Math.min(length - offset, 1 << 20), offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
      }
      return { content: buffer.subarray(0, offset).toString('utf8'), sizeBytes: size };
    } finally {
      await handle.close();
    }
  },
});
