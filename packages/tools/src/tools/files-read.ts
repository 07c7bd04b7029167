import { open } from 'node:fs/promises';
import { defineRunnableTool } from '../runnable.js';
import { filesRead } from '../demo-tools.js';
import type { Workspace } from '../stores/workspace.js';

const DEFAULT_MAX_BYTES = 1024 * 1024;

/** files.read: reads a file of the workspace (UTF-8), up to maxBytes; sizeBytes is the whole file's size. */
export function filesReadTool(workspace: Workspace) {
  return defineRunnableTool({
    spec: filesRead,
    riskTier: 'low',
    estimateImpact: () => Promise.resolve({ rows: 0, files: 0, recipients: 0, moneyUsd: 0 }),
    run: async (args, ctx) => {
      const path = await workspace.resolve(args.path);
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
}
