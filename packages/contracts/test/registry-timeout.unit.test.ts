import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { RegistryUnavailableError } from '../src/errors.js';
import { RegistryClient, registryFailure } from '../src/registry.js';

describe("the registry client's time limit", () => {
  it('calls a request that timed out an unavailable registry (retryable), not a refusal', () => {
    const timedOut = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(registryFailure('looking up schema id 7', timedOut)).toBeInstanceOf(RegistryUnavailableError);
  });

  it('bounds each request in time: a registry that holds it open fails as unavailable', async () => {
    const server = createServer(() => undefined); // holds every request open
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const timeout = vi
      .spyOn(AbortSignal, 'timeout')
      .mockImplementation(() =>
        AbortSignal.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      );
    try {
      await expect(new RegistryClient(`http://127.0.0.1:${port}`).eventTypeOf(7)).rejects.toBeInstanceOf(
        RegistryUnavailableError,
      );
      expect(timeout).toHaveBeenCalled();
    } finally {
      timeout.mockRestore();
      server.closeAllConnections();
      server.close();
    }
  });
});
