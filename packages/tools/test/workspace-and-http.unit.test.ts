import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryKeptFiles,
  ToolRefusedError,
  Workspace,
  addressAllowed,
  bindTool,
  demoToolDeps,
  parseAddressRanges,
  filesRead,
  filesWrite,
  hostAllowed,
  httpGet,
  type DemoToolDeps,
} from '@warden/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Only the stores a test's tool uses. */
const stores = (some: Partial<DemoToolDeps>): DemoToolDeps => some as DemoToolDeps;
const filesReadTool = (workspace: Workspace) => bindTool(filesRead, stores({ workspace }));
const filesWriteTool = (workspace: Workspace) =>
  bindTool(filesWrite, stores({ workspace, kept: new MemoryKeptFiles() }));
const httpGetTool = (http: DemoToolDeps['http']) => bindTool(httpGet, stores({ http }));

describe('the file workspace', () => {
  let root: string;
  beforeAll(async () => {
    const base = await mkdtemp(join(tmpdir(), 'warden-ws-'));
    root = join(base, 'root');
    await mkdir(root);
    await writeFile(join(base, 'secret.txt'), 'outside');
    await writeFile(join(root, 'hello.txt'), 'hello');
    await symlink(base, join(root, 'escape'));
  });
  const ctx = { idempotencyKey: 't:a', signal: new AbortController().signal, logger };

  it('refuses paths that leave the root: .., absolute, through a link', async () => {
    const ws = new Workspace(root);
    for (const p of ['../secret.txt', 'a/../../secret.txt', '/etc/passwd', 'escape/secret.txt', '.']) {
      await expect(ws.resolve(p), p).rejects.toBeInstanceOf(ToolRefusedError);
    }
    await expect(ws.resolve('sub/new.txt')).resolves.toBe(join(root, 'sub/new.txt'));
  });

  it('reads, writes (atomically, idempotently) and verifies inside the root', async () => {
    const ws = new Workspace(root);
    await expect(filesReadTool(ws).run({ path: 'hello.txt' }, ctx)).resolves.toEqual({
      content: 'hello',
      sizeBytes: 5,
    });
    const write = filesWriteTool(ws);
    const args = { path: 'out/report.txt', content: 'report' };
    expect(await write.verify!(args, ctx)).toEqual({ status: 'not_applied' });
    await expect(write.run(args, ctx)).resolves.toEqual({ sizeBytes: 6, previousSha256: null });
    await expect(write.run(args, ctx)).resolves.toEqual({ sizeBytes: 6, previousSha256: null });
    expect(await write.verify!(args, ctx)).toEqual({
      status: 'applied',
      output: { sizeBytes: 6, previousSha256: null },
    });
    await expect(filesReadTool(ws).run({ path: '../secret.txt' }, ctx)).rejects.toBeInstanceOf(ToolRefusedError);
  });
});

describe('http.get', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        res.end('moved');
        return;
      }
      res.end('pong');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => new Promise<void>((r) => server.close(() => r())));
  const ctx = { idempotencyKey: 't:a', signal: new AbortController().signal, logger };
  const loopbackOnly = ['127.0.0.1/32', '::1/128'];

  it('matches hosts and host:port entries', () => {
    expect(hostAllowed(new URL('http://127.0.0.1:9/x'), ['127.0.0.1'])).toBe(true);
    expect(hostAllowed(new URL('http://127.0.0.1:9/x'), ['127.0.0.1:10'])).toBe(false);
    expect(hostAllowed(new URL('http://[::1]:9/x'), ['::1'])).toBe(true);
    expect(hostAllowed(new URL('http://example.com/'), ['127.0.0.1', 'localhost'])).toBe(false);
    expect(hostAllowed(new URL('http://127.0.0.1.nip.io/'), ['127.0.0.1'])).toBe(false);
  });

  it('refuses every non-public address by default, IPv4 and IPv6, v4-mapped included; admits public ones', () => {
    const refused = [
      '127.0.0.1',
      '127.255.0.9',
      '0.0.0.0',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '::ffff:10.0.0.1',
      '2002:7f00:1::1', // 6to4 of 127.0.0.1
      '64:ff9b::7f00:1', // NAT64 of 127.0.0.1
      'not-an-address',
    ];
    for (const a of refused) expect(addressAllowed(a, []), a).toBe(false);
    for (const a of ['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect(addressAllowed(a, []), a).toBe(true);
    }
  });

  it('admits a non-public address only inside a configured range', () => {
    const ranges = parseAddressRanges(['127.0.0.1/32', 'fd00::/8']);
    expect(addressAllowed('127.0.0.1', ranges)).toBe(true);
    expect(addressAllowed('::ffff:127.0.0.1', ranges)).toBe(true);
    expect(addressAllowed('127.0.0.2', ranges)).toBe(false);
    expect(addressAllowed('fd12::1', ranges)).toBe(true);
    expect(addressAllowed('::1', ranges)).toBe(false);
    expect(addressAllowed('10.0.0.1', ranges)).toBe(false);
    expect(() => parseAddressRanges(['127.0.0.1'])).toThrow(ToolRefusedError);
    expect(() =>
      demoToolDeps({
        db: {} as never,
        customerCollections: [],
        knowledgeCollection: 'k',
        workspaceRoot: '/tmp',
        httpAllowlist: [],
        httpAllowedRanges: ['10.0.0.0/33'],
        httpMaxBytes: 1,
      }),
    ).toThrow(ToolRefusedError);
  });

  it('refuses an allowed loopback host unless its range is allowed too, before connecting', async () => {
    const before = hits;
    const url = `http://127.0.0.1:${port}/ping`;
    const closed = httpGetTool({ hosts: ['127.0.0.1'], maxBytes: 1024 });
    await expect(closed.run({ url }, ctx)).rejects.toThrow(/127\.0\.0\.1 \(loopback\)/);
    await expect(closed.run({ url: `http://[::ffff:127.0.0.1]:${port}/` }, ctx)).rejects.toBeInstanceOf(
      ToolRefusedError,
    );
    expect(hits).toBe(before);
    const open = httpGetTool({ hosts: ['127.0.0.1'], allowedRanges: loopbackOnly, maxBytes: 1024 });
    await expect(open.run({ url }, ctx)).resolves.toEqual({ status: 200, body: 'pong' });
    await expect(open.run({ url: 'http://example.com/' }, ctx)).rejects.toBeInstanceOf(ToolRefusedError);
  });

  it('checks the addresses a name resolves to when it connects', async () => {
    const before = hits;
    const url = `http://localhost:${port}/ping`;
    const closed = httpGetTool({ hosts: ['localhost'], maxBytes: 1024 });
    const refusal = closed.run({ url }, ctx);
    await expect(refusal).rejects.toBeInstanceOf(ToolRefusedError);
    await expect(refusal).rejects.toThrow(/localhost resolves to an address http.get may not reach/);
    expect(hits).toBe(before);
    const open = httpGetTool({ hosts: ['localhost'], allowedRanges: loopbackOnly, maxBytes: 1024 });
    await expect(open.run({ url }, ctx)).resolves.toEqual({ status: 200, body: 'pong' });
  });

  it('does not follow a redirect: the 3xx is the result, and nothing is fetched from its location', async () => {
    const before = hits;
    const tool = httpGetTool({ hosts: ['127.0.0.1'], allowedRanges: loopbackOnly, maxBytes: 1024 });
    await expect(tool.run({ url: `http://127.0.0.1:${port}/redirect` }, ctx)).resolves.toEqual({
      status: 302,
      body: 'moved',
    });
    expect(hits).toBe(before + 1);
  });

  it('cuts the body at maxBytes', async () => {
    const tool = httpGetTool({ hosts: ['127.0.0.1'], allowedRanges: loopbackOnly, maxBytes: 2 });
    await expect(tool.run({ url: `http://127.0.0.1:${port}/ping` }, ctx)).resolves.toEqual({
      status: 200,
      body: 'po',
    });
  });
});
