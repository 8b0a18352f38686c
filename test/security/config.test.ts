import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { ROOT } from '../helpers/paths.js';
import { storeLocation } from '../../src/state/open-store.js';

const problems = (yaml: string): string => {
  try {
    parseConfig(yaml);
    return '';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('security configuration', () => {
  it('reports cross-field problems with their paths', () => {
    const text = problems(`
auth: { bearer: { issuer: https://idp.example } }
store: { kind: postgres }
rateLimits: { store: redis }
authorization: { rules: [ { when: {} } ] }
`);
    expect(text).toContain('auth.resource');
    expect(text).toContain('store.url');
    expect(text).toContain('rateLimits.redis');
    expect(text).toContain('authorization.rules.0');
  });

  it('rejects malformed rates and unknown keys', () => {
    expect(problems('defaults: { rateLimit: { perCaller: "lots" } }')).toMatch(/defaults\.rateLimit\.perCaller/);
    expect(problems('tools: { "a__*": { redact: { mode: scramble } } }')).toMatch(/redact\.mode/);
    expect(problems('auth: { anonymus: any }')).toMatch(/did you mean "anonymous"/);
  });

  it('keeps the store in memory for configs that are not files, next to the config file otherwise', () => {
    const cfg = parseConfig('{}').config;
    expect(storeLocation(cfg.store, undefined, '/srv')).toEqual({ kind: 'memory', target: '(memory)' });
    expect(storeLocation(cfg.store, '/srv/toolgate.yaml', '/srv')).toEqual({
      kind: 'sqlite',
      target: '/srv/toolgate.db',
    });
    expect(storeLocation({ kind: 'sqlite', path: 'state/a.db', worker: false }, undefined, '/srv')).toEqual({
      kind: 'sqlite',
      target: '/srv/state/a.db',
    });
  });

  it('accepts the example configs', async () => {
    const env = { ...process.env, IDP_ISSUER: 'https://sso.example.com/realms/tools', UPSTREAM_TOKEN: 'x' };
    const secure = await loadConfigFile(`${ROOT}examples/secure.yaml`, { env });
    expect(secure.config.auth.bearer?.issuer).toBe('https://sso.example.com/realms/tools');
    expect(secure.config.authorization.rules).toHaveLength(4);
    expect((await loadConfigFile(`${ROOT}examples/demo.yaml`)).config.store.kind).toBe('memory');
  });
});
