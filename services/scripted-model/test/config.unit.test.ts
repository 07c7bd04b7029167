import { describe, expect, it } from 'vitest';
import { BUNDLED_SCENARIOS_DIR, ConfigError, loadConfig } from '@warden/scripted-model';

describe('loadConfig', () => {
  it('applies defaults; empty values count as unset', () => {
    expect(loadConfig({ SCRIPTED_MODEL_PORT: '' })).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      scenariosDir: BUNDLED_SCENARIOS_DIR,
      logLevel: 'info',
    });
  });

  it('reads the variables', () => {
    expect(
      loadConfig({
        SCRIPTED_MODEL_PORT: '0',
        SCRIPTED_MODEL_HOST: '0.0.0.0',
        SCRIPTED_MODEL_SCENARIOS_DIR: '/s',
        LOG_LEVEL: 'debug',
      }),
    ).toMatchObject({ port: 0, host: '0.0.0.0', scenariosDir: '/s', logLevel: 'debug' });
  });

  it('lists every bad variable by name', () => {
    let error: unknown;
    try {
      loadConfig({ SCRIPTED_MODEL_PORT: '70000', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/SCRIPTED_MODEL_PORT: .*65535/);
    expect((error as ConfigError).message).toMatch(/LOG_LEVEL: /);
  });
});
