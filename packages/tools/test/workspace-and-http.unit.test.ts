import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryKeptFiles,
  ToolRefusedError,
  Workspace,
  bindTool,
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
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('pong'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => new Promise<void>((r) => server.close(() => r())));
  const ctx = { idempotencyKey: 't:a', signal: new AbortController().signal, logger };

  it('matches hosts and host:port entries', () => {
    expect(hostAllowed(new URL('http://127.0.0.1:9/x'), ['127.0.0.1'])).toBe(true);
    expect(hostAllowed(new URL('http://127.0.0.1:9/x'), ['127.0.0.1:10'])).toBe(false);
    expect(hostAllowed(new URL('http://[::1]:9/x'), ['::1'])).toBe(true);
    expect(hostAllowed(new URL('http://example.com/'), ['127.0.0.1', 'localhost'])).toBe(false);
    expect(hostAllowed(new URL('http://127.0.0.1.nip.io/'), ['127.0.0.1'])).toBe(false);
  });

  it('fetches from an allowed host and refuses others before connecting', async () => {
    const tool = httpGetTool({ hosts: ['127.0.0.1'], maxBytes: 1024 });
    await expect(tool.run({ url: `http://127.0.0.1:${port}/ping` }, ctx)).resolves.toEqual({
      status: 200,
      body: 'pong',
    });
    await expect(tool.run({ url: 'http://example.com/' }, ctx)).rejects.toBeInstanceOf(ToolRefusedError);
  });
});
