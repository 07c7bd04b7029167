import { defineRunnableTool } from '../runnable.js';
import { httpGet } from '../demo-tools.js';
import { ToolCallError, ToolRefusedError } from '../errors.js';

/** Which hosts http.get may reach: host names or IPs, optionally with a port (`127.0.0.1:8080`). */
export interface HttpAllowlist {
  readonly hosts: readonly string[];
  /** Response bodies are cut at this size. */
  readonly maxBytes: number;
}

const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();

/** True when the URL's host (or host:port) is on the allowlist. */
export function hostAllowed(url: URL, hosts: readonly string[]): boolean {
  const host = hostOf(url);
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  return hosts.some((entry) => {
    const e = entry.toLowerCase().replace(/^\[|\](?=:|$)/g, '');
    return e === host || e === `${host}:${port}`;
  });
}

/**
 * http.get: fetches a URL whose host is on the allowlist. Redirects are not followed (a redirect could leave the
 * allowlist); the body is read up to maxBytes.
 */
export function httpGetTool(allowlist: HttpAllowlist) {
  return defineRunnableTool({
    spec: httpGet,
    riskTier: 'low',
    estimateImpact: () => Promise.resolve({ rows: 0, files: 0, recipients: 0, moneyUsd: 0 }),
    run: async (args, ctx) => {
      const url = new URL(args.url);
      if (!hostAllowed(url, allowlist.hosts)) {
        throw new ToolRefusedError(`host ${url.host} is not on the http allowlist`, {
          details: { host: url.host, allowlist: allowlist.hosts },
        });
      }
      let response: Response;
      try {
        response = await fetch(url, { headers: args.headers ?? {}, redirect: 'manual', signal: ctx.signal });
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        throw new ToolCallError(`GET ${url.host} failed: ${(error as Error).message}`, { cause: error });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      if (response.body !== null) {
        for await (const chunk of response.body) {
          const buf = Buffer.from(chunk as Uint8Array);
          chunks.push(buf.subarray(0, Math.max(0, allowlist.maxBytes - size)));
          size += buf.byteLength;
          if (size >= allowlist.maxBytes) break;
        }
      }
      return { status: response.status, body: Buffer.concat(chunks).toString('utf8') };
    },
  });
}
