import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = resolve(import.meta.dirname, 'fixtures/signal-service.ts');

/** Runs the fixture service in `mode`; sends SIGTERM once it prints `signalAfter`; resolves with how it ended. */
function runService(
  mode: string,
  signalAfter?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=@warden/source', '--import', 'tsx', script, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let signalled = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (signalAfter !== undefined && !signalled && stdout.includes(signalAfter)) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((done) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    }),
  );
}

describe('runUntilSignal (a service process)', () => {
  it('exits 0 when a SIGTERM interrupts the start: the start failing because of the close is not a crash', async () => {
    const ended = await runService('hangs-until-closed', 'STARTING');
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stdout).toContain('CLOSED');
    expect(ended.stdout).not.toContain('READY');
    expect(ended.stderr).toContain('start interrupted by the stop');
    expect(ended.stderr).not.toContain('unhandled rejection');
  }, 30_000);

  it('closes and exits 1 when the start fails on its own', async () => {
    const ended = await runService('fails');
    expect(ended.code, ended.stderr).toBe(1);
    expect(ended.stdout).toContain('CLOSED');
    expect(ended.stderr).toContain('start failed');
    expect(ended.stderr).toContain('the broker refused the connection');
  }, 30_000);

  it('reports a started service, then drains on SIGTERM and exits 0', async () => {
    const ended = await runService('starts', 'READY');
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stdout.split('\n').filter(Boolean)).toEqual(['STARTING', 'READY', 'CLOSED']);
  }, 30_000);
});
