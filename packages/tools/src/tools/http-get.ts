import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { noImpact } from '@warden/contracts';
import { z } from 'zod';
import { addressAllowed, describeAddress, parseAddressRanges, type AddressRange } from '../address-ranges.js';
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
 * A DNS lookup that resolves every address of the host and refuses the connection unless each one is allowed: the
 * connection then goes to an address that was checked, so a name cannot resolve to a public address for the check and
 * to an internal one for the connection (DNS rebinding).
 */
function checkedLookup(allowed: readonly AddressRange[]): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses: LookupAddress[]) => {
      if (error !== null) return callback(error, '', 0);
      const refused = addresses.filter((a) => !addressAllowed(a.address, allowed));
      if (refused.length > 0 || addresses.length === 0) {
        const list = refused.map((a) => describeAddress(a.address)).join(', ');
        return callback(
          new ToolRefusedError(`host ${hostname} resolves to an address http.get may not reach: ${list || 'none'}`),
          '',
          0,
        );
      }
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/** GETs a URL through the checked lookup; resolves with the response head (its body still to be read). */
function get(
  url: URL,
  headers: Record<string, string>,
  allowed: readonly AddressRange[],
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, lookup: checkedLookup(allowed), signal }, resolve);
    req.once('error', reject);
    req.end();
  });
}

/**
 * http.get: fetches a URL whose host is on the allowlist and whose every address is public (or in a range the
 * configuration allows). The connection goes to the address that was checked. Redirects are not followed: a 3xx is
 * returned as it is, and following it is a new http.get the guard judges and this tool checks again. The body is read
 * up to the allowlist's maxBytes.
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
    const allowed = parseAddressRanges(allowlist.allowedRanges ?? []);
    const literal = hostOf(url);
    // An IP literal is connected to without a lookup: check it here.
    if (isIP(literal) !== 0 && !addressAllowed(literal, allowed)) {
      throw new ToolRefusedError(`address ${describeAddress(literal)} is not one http.get may reach`, {
        details: { host: url.host },
      });
    }
    let response: IncomingMessage;
    try {
      response = await get(url, args.headers ?? {}, allowed, ctx.signal);
    } catch (error) {
      if (error instanceof ToolRefusedError) throw error;
      if (ctx.signal.aborted) throw error;
      throw new ToolCallError(`GET ${url.host} failed: ${(error as Error).message}`, { cause: error });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response) {
        const buf = chunk as Buffer;
        chunks.push(buf.subarray(0, Math.max(0, allowlist.maxBytes - size)));
        size += buf.byteLength;
        if (size >= allowlist.maxBytes) break;
      }
    } finally {
      response.destroy();
    }
    if (response.statusCode === undefined) throw new ToolCallError(`GET ${url.host} answered no status`);
    return { status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') };
  },
});
