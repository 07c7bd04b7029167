import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitUntil } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';
import { unique } from '../../test/support/index.js';
import { testEnv, warden, WARDEN_BIN } from './support/run.js';

const run = promisify(execFile);

describe('warden tail on a terminal', () => {
  it('shows the log so far, then live events as they happen, coloured, and stops on Ctrl-C', async () => {
    const { NO_COLOR: _, ...env } = testEnv('cli-tail');
    const first = await warden(['submit', '--goal', 'First task', '--tools', 'customers.query'], env);
    expect(first.code, first.stderr).toBe(0);
    const firstId = first.stdout.trim();

    // A tmux server of our own (its own socket) inherits this environment; the pane is a real pseudo-terminal.
    const socket = unique('warden-tail');
    const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args], { env });
    const screen = async (escapes = false): Promise<string> =>
      (await tmux('capture-pane', '-p', '-J', ...(escapes ? ['-e'] : []), '-t', 'tail')).stdout;
    await tmux(
      'new-session',
      '-d',
      '-s',
      'tail',
      '-x',
      '250',
      '-y',
      '50',
      `${process.execPath} ${WARDEN_BIN} tail; echo "EXITED=$?"; sleep 60`,
    );
    try {
      await waitUntil(async () => (await screen()).includes(`${firstId}   0 warden-cli TaskSubmitted`), {
        timeoutMs: 60_000,
        what: 'the first task on the screen',
      });
      const second = await warden(['submit', '--goal', 'Second task', '--tools', 'customers.query'], env);
      expect(second.code, second.stderr).toBe(0);
      const secondId = second.stdout.trim();
      await waitUntil(async () => (await screen()).includes(`${secondId}   0 warden-cli TaskSubmitted`), {
        timeoutMs: 30_000,
        what: 'the second task, submitted while tail runs',
      });
      expect(await screen(true)).toContain(`${String.fromCharCode(27)}[`); // ANSI colour on a terminal
      await tmux('send-keys', '-t', 'tail', 'C-c');
      await waitUntil(async () => (await screen()).includes('EXITED=0'), { timeoutMs: 30_000, what: 'tail to exit 0' });
    } finally {
      await tmux('kill-server');
    }
  });
});
