/**
 * What each container image runs: the compiled entry point (services/<name>/dist/main.js) with plain node, no tsx and
 * no "@warden/source" condition, from a directory outside the repository (as from the image's read-only root). Each
 * one starts against the local stack, reports healthy (and ready) on its own port, and on SIGTERM drains and exits 0,
 * which it only does when it closed within its grace period (past it, it forces and exits 1).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '@warden/contracts';
import { testKafkaEnv, waitUntil } from '@warden/runtime/testing';
import { stack, unique } from './support/index.js';

const root = resolve(import.meta.dirname, '..');
const graceMs = 15_000;

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Polls a URL until it answers 200, or fails at the deadline with the process's output. */
async function until200(url: string, child: ChildProcess, output: () => string, deadlineMs: number): Promise<void> {
  let last = 'no answer';
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before ${url} answered:\n${output()}`);
      try {
        const res = await fetch(url);
        if (res.status === 200) return true;
        last = `${res.status} ${await res.text()}`;
      } catch (error) {
        last = (error as Error).message;
      }
      return false;
    },
    { timeoutMs: deadlineMs, intervalMs: 250, what: () => `${url} to answer 200 (last: ${last}):\n${output()}` },
  );
}

/** Waits for the process to exit; fails at the deadline (and kills it) with its output. */
function exitOf(child: ChildProcess, output: () => string, deadlineMs: number): Promise<{ code: number | null }> {
  return new Promise((resolveExit, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not exit within ${deadlineMs} ms of SIGTERM:\n${output()}`));
    }, deadlineMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveExit({ code });
    });
  });
}

interface EntryPoint {
  /** The environment besides the stack's endpoints and the unique names. */
  readonly env: (ports: { http: number; api: number }, workDir: string) => Record<string, string>;
  /** The URLs that must answer 200 once started (health, then readiness). */
  readonly urls: (ports: { http: number; api: number }) => string[];
}

const workerUrls = (p: { http: number }): string[] => [
  `http://127.0.0.1:${p.http}/healthz`,
  `http://127.0.0.1:${p.http}/readyz`,
];

const entryPoints: Readonly<Record<string, EntryPoint>> = {
  planner: { env: () => ({}), urls: workerUrls },
  guard: { env: () => ({}), urls: workerUrls },
  executor: { env: (_p, dir) => ({ EXECUTOR_WORKSPACE_ROOT: join(dir, 'workspace') }), urls: workerUrls },
  auditor: {
    env: (p) => ({
      AUDITOR_API_PORT: String(p.api),
      AUDITOR_API_KEYS: 'acme:compiled-entry-point-key',
      AUDITOR_CHECKPOINT_KEY: 'compiled-entry-point-checkpoint-key-0123456789',
    }),
    urls: (p) => [`http://127.0.0.1:${p.api}/healthz`],
  },
  // Health on WARDEN_HTTP_PORT like every worker; the page and API on ESCALATION_HTTP_PORT.
  escalation: {
    env: (p) => ({
      ESCALATION_HTTP_PORT: String(p.api),
      ESCALATION_SIGNING_KEY: generateSigningKeyPair('entry-point-test').signingKeyText,
      ESCALATION_JWT_HS256_SECRET: 'entry-point-test-secret-0123456789abcdef',
    }),
    urls: (p) => [...workerUrls(p), `http://127.0.0.1:${p.api}/`],
  },
  'scripted-model': {
    env: (p) => ({ SCRIPTED_MODEL_PORT: String(p.http), SCRIPTED_MODEL_SHUTDOWN_GRACE_MS: String(graceMs) }),
    urls: (p) => [`http://127.0.0.1:${p.http}/healthz`, `http://127.0.0.1:${p.http}/readyz`],
  },
};

describe('compiled entry points (what the images run)', () => {
  let workDir: string;

  beforeAll(() => {
    // The images run the output of `tsc -b`: build it (incremental) so the test never runs stale code.
    const tsc = spawnSync(process.execPath, [resolve(root, 'node_modules/typescript/bin/tsc'), '-b'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    workDir = mkdtempSync(join(tmpdir(), 'warden-entry-'));
  });

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  it('covers every service', () => {
    const services = readdirSync(resolve(root, 'services')).filter((d) =>
      existsSync(resolve(root, 'services', d, 'src/main.ts')),
    );
    for (const service of services) expect(Object.keys(entryPoints), service).toContain(service);
  });

  for (const [name, entry] of Object.entries(entryPoints)) {
    const main = resolve(root, 'services', name, 'dist/main.js');
    it.skipIf(!existsSync(resolve(root, 'services', name, 'src/main.ts')))(
      `${name}: starts with plain node, reports healthy, drains on SIGTERM and exits 0`,
      async () => {
        expect(existsSync(main), `${main} is built`).toBe(true);
        const endpoints = stack();
        const ports = { http: await freePort(), api: await freePort() };
        const id = unique(`entry-${name}`);
        const child = spawn(process.execPath, [main], {
          cwd: workDir,
          // A clean environment: nothing from the test runner (no --conditions, no tsx loader).
          env: {
            PATH: process.env.PATH ?? '',
            ...testKafkaEnv(endpoints),
            SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
            MONGO_URL: endpoints.mongoUrl,
            MONGO_DB: id.replace(/-/g, '_'),
            WARDEN_TOPIC_PREFIX: id,
            WARDEN_SUBJECT_PREFIX: `${id}.`,
            WARDEN_HTTP_PORT: String(ports.http),
            WARDEN_SHUTDOWN_GRACE_MS: String(graceMs),
            LOG_LEVEL: 'info',
            ...entry.env(ports, workDir),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const output = (): string => out.slice(-4_000);
        try {
          for (const url of entry.urls(ports)) await until200(url, child, output, 60_000);
          const exited = exitOf(child, output, graceMs + 15_000);
          child.kill('SIGTERM');
          expect((await exited).code, output()).toBe(0);
        } finally {
          if (child.exitCode === null) child.kill('SIGKILL');
        }
      },
      120_000,
    );
  }
});
