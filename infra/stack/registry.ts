// Apicurio Registry 3.0.9 (Java 17), serving the Confluent schema-registry API under /apis/ccompat/v7.
import fs from 'node:fs';
import path from 'node:path';

import type { StackConfig } from './config.js';
import { APICURIO_VERSION } from './config.js';
import { installInto, runMaven } from './install.js';
import type { StackPaths } from './paths.js';
import { workDir } from './paths.js';
import type { ServerDefinition } from './server.js';

export const CCOMPAT_PATH = '/apis/ccompat/v7';

async function expectOk(url: string, timeoutMs: number): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED...) is in its cause.
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : error);
    throw new Error(`GET ${url}: ${String(reason)}`);
  }
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status} ${body.slice(0, 200)}`);
  return JSON.parse(body) as unknown;
}

/** A Confluent-compatible registry answers GET /subjects with a JSON array. */
export async function checkSchemaRegistry(url: string, timeoutMs: number): Promise<void> {
  const subjects = await expectOk(`${url}/subjects`, timeoutMs);
  if (!Array.isArray(subjects)) throw new Error(`GET ${url}/subjects did not answer a JSON array`);
}

export function registryServer(config: StackConfig, paths: StackPaths): ServerDefinition {
  const dir = workDir(paths, 'registry');
  const dataDir = path.join(dir, 'data');
  const origin = `http://127.0.0.1:${config.registry.port}`;
  const localEndpoint = `${origin}${CCOMPAT_PATH}`;

  return {
    id: 'registry',
    label: `apicurio registry ${APICURIO_VERSION}`,
    external: config.registry.external,
    endpoint: config.registry.external ?? localEndpoint,
    ports: [config.registry.port],
    marker: `-Dwarden.stack.dir=${dir}`,
    isInstalled: () => fs.existsSync(paths.apicurioJar) && fs.existsSync(path.join(paths.apicurioHome, 'lib')),

    async install(progress, signal) {
      progress('downloading via maven (first run only)...');
      await installInto(paths.buildDir, paths.apicurioHome, async (staging) => {
        const out = path.join(staging, 'out');
        await runMaven(
          config.mvnBin,
          [
            'dependency:unpack',
            `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`,
            `-DoutputDirectory=${out}`,
            `-DmarkersDirectory=${path.join(staging, 'markers')}`,
          ],
          staging,
          signal,
        );
        if (!fs.existsSync(path.join(out, path.basename(paths.apicurioJar)))) {
          throw new Error(`maven finished but ${path.basename(paths.apicurioJar)} is missing`);
        }
        // The tarball has pax headers that the unpacker writes out as a PaxHeaders.X directory.
        for (const entry of fs.readdirSync(out)) {
          if (entry.startsWith('PaxHeaders')) fs.rmSync(path.join(out, entry), { recursive: true, force: true });
        }
      });
    },

    prepare(fresh) {
      if (fresh) fs.rmSync(dataDir, { recursive: true, force: true });
      fs.mkdirSync(dataDir, { recursive: true });
      return Promise.resolve();
    },

    command: () => ({
      command: config.javaBin,
      args: [
        '-Xmx512m',
        '-Djava.awt.headless=true',
        `-Dwarden.stack.dir=${dir}`,
        '-Dquarkus.http.host=127.0.0.1',
        `-Dquarkus.http.port=${config.registry.port}`,
        // Persist schemas next to Kafka's data: records in Kafka carry schema ids, so a registry
        // that forgot them on restart would make old records undecodable.
        `-Dapicurio.datasource.url=jdbc:h2:file:${path.join(dataDir, 'registry')};DB_CLOSE_ON_EXIT=FALSE`,
        // Deletes through Apicurio's own v3 API are off by default (ccompat DELETE works regardless);
        // on here so tests and tools can clean up through either API.
        '-Dapicurio.rest.deletion.group.enabled=true',
        '-Dapicurio.rest.deletion.artifact.enabled=true',
        '-Dapicurio.rest.deletion.artifact-version.enabled=true',
        '-jar',
        paths.apicurioJar,
      ],
      cwd: paths.apicurioHome,
    }),

    async checkHealth(endpoint, timeoutMs) {
      if (endpoint === localEndpoint) {
        const ready = await expectOk(`${origin}/health/ready`, timeoutMs);
        const status = (ready as { status?: unknown } | null)?.status;
        if (status !== 'UP') throw new Error(`/health/ready says ${JSON.stringify(ready)}`);
      }
      await checkSchemaRegistry(endpoint, timeoutMs);
    },
  };
}
