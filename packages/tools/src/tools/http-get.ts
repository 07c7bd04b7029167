import { noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { ToolCallError, ToolRefusedError } from '../errors.js';

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
 * allowlist); the body is read up to the allowlist's maxBytes.
 */
export const httpGet = defineDemoTool({
  name: 'http.get',
  description: 'Fetch a URL with GET',
  destructive: false,
  riskTier: 'medium',
  argsSchema: z
    .object({
      url: z
        .url({ protocol: /^https?$/ })
        .max(2_000)
        .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), 'credentials in URLs are refused'),
      headers: z.record(z.string().max(100), z.string().max(2_000)).optional(),
    })
    .strict(),
  outputSchema: z.object({ status: z.number().int().min(100).max(599), body: z.string() }),
  resources: { hosts: ['url'] },
  outputTrust: 'untrusted', // text a third party wrote
  criticalFields: [],
  estimateImpact: () => Promise.resolve(noImpact),
  run: async (args, deps, ctx) => {
    const allowlist = deps.http;
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
