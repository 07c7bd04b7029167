/**
 * The Dockerfile cannot be built here (no Docker engine). It is kept lint-clean with hadolint (installed into the
 * cache by infra/tools/install-hadolint.sh) and checked to cover every workspace: all workspace manifests are
 * installed before the sources are copied, and each service has a target that runs its compiled entry point with
 * plain node.
 * test/compiled-entry-points.int.test.ts runs those entry points against the local stack.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheDirFrom } from '../stack/config.js';

const root = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');

/** The service workspaces (services/*) in this checkout. */
function services(): string[] {
  return readdirSync(resolve(root, 'services')).filter((d) => existsSync(resolve(root, 'services', d, 'package.json')));
}

describe('Dockerfile', () => {
  it('passes hadolint', () => {
    const hadolint = join(cacheDirFrom(), 'bin', 'hadolint');
    if (!existsSync(hadolint)) throw new Error(`no hadolint at ${hadolint}: run infra/tools/install-hadolint.sh`);
    const r = spawnSync(hadolint, ['Dockerfile'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('installs dependencies from every workspace manifest before copying sources', () => {
    const manifests = dockerfile.slice(dockerfile.indexOf(' AS manifests'), dockerfile.indexOf(' AS build'));
    expect(manifests).toMatch(/^COPY packages \.\/packages$/m);
    expect(manifests).toMatch(/^COPY services \.\/services$/m);
    expect(manifests).toContain(
      'find packages services -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +',
    );
    const build = dockerfile.slice(dockerfile.indexOf(' AS build'), dockerfile.indexOf(' AS runtime'));
    const install = build.indexOf('RUN npm ci');
    expect(build.indexOf('COPY --from=manifests /src ./')).toBeGreaterThan(-1);
    expect(build.indexOf('COPY --from=manifests /src ./')).toBeLessThan(install);
    expect(build.indexOf('COPY services ./services')).toBeGreaterThan(install);
  });

  it('has a target per service running its compiled entry point with plain node', () => {
    for (const service of services()) {
      if (!existsSync(resolve(root, 'services', service, 'src/main.ts'))) continue;
      const target = new RegExp(`^FROM runtime AS ${service}\\n(?:(?!^FROM ).*\\n)*?CMD \\["node", "([^"]+)"\\]$`, 'm');
      const m = target.exec(dockerfile);
      expect(m, `target ${service}`).not.toBeNull();
      expect(m![1]).toBe(`services/${service}/dist/main.js`);
    }
  });

  it('runs as a non-root user with a health check, production dependencies only', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/^USER 1000:1000$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "-e", .*WARDEN_HEALTH_URL/m);
    expect(dockerfile).toContain('npm prune --omit=dev');
    expect(dockerfile).not.toMatch(/tsx|@warden\/source/);
  });
});
