import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationSchema } from '../../src/config/security.js';
import { createRuleSet } from '../../src/security/rules.js';
import { ANONYMOUS, type Principal } from '../../src/types.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { TEST_SERVER } from '../helpers/paths.js';
import { errorCode, listedTools, mcp, startIssuer, type TestIssuer } from './helpers.js';

const RESOURCE = 'https://tools.test.example/mcp';
let idp: TestIssuer;
let gw: TestGateway;
let apiKey = '';

const ARGS: Record<string, Record<string, unknown>> = {
  demo__echo: { message: 'hi' },
  demo__add: { a: 1, b: 2 },
  demo__weather: { city: 'Lisbon' },
  demo__count_slowly: { n: 1, delayMs: 0 },
  t__echo: { message: 'hi' },
  t__pid: {},
};
const ALL = Object.keys(ARGS).sort();

beforeAll(async () => {
  idp = await startIssuer();
  gw = await startGateway(`
auth:
  resource: ${RESOURCE}
  bearer: { issuer: ${idp.issuer}, jwksUri: ${idp.jwksUri} }
  apiKeys: {}
authorization:
  rules:
    - tools: ["demo__*"]
      when: { scopes: [demo] }
    - tools: ["demo__add"]
      when: { roles: [math] }
    - tools: ["demo__weather"]
      effect: deny
      when: { claims: { country: [xx] } }
    - tools: ["t__*"]
      when: { roles: [ops], scopes: ["ops:write"] }
    - tools: ["t__echo"]
      when: { authMethods: [api-key] }
upstreams:
  demo: { kind: local, module: examples/tools/demo-tools.mjs }
  t: { kind: stdio, command: ${process.execPath}, args: [${TEST_SERVER}] }
tools:
  "t__*": { enabled: false }
  "t__echo": { enabled: true }
  "t__pid": { enabled: true }
`);
  const keys = gw.gateway.security.apiKeys;
  if (keys === undefined) throw new Error('api keys off');
  apiKey = (await keys.create('table-key', [], null)).key;
});
afterAll(async () => {
  await gw?.stop();
  await idp?.close();
});

const exp = (): number => Math.floor(Date.now() / 1000) + 600;
const token = (sub: string, extra: Record<string, unknown>): Promise<string> =>
  idp.sign({ iss: idp.issuer, aud: RESOURCE, sub, exp: exp(), ...extra });

/** Principal → the tools it must see (and so may call). `explained`: hidden tools whose calls name missing scopes. */
const TABLE: { who: string; headers: () => Promise<Record<string, string>>; sees: string[]; explained: string[] }[] = [
  {
    who: 'scope demo',
    headers: async () => ({ authorization: `Bearer ${await token('u1', { scope: 'demo' })}` }),
    sees: ['demo__add', 'demo__count_slowly', 'demo__echo', 'demo__weather'],
    explained: [],
  },
  {
    who: 'role math only',
    headers: async () => ({ authorization: `Bearer ${await token('u2', { roles: ['math'] })}` }),
    sees: ['demo__add'],
    explained: ['demo__count_slowly', 'demo__echo', 'demo__weather'],
  },
  {
    who: 'scope demo, denied country',
    headers: async () => ({ authorization: `Bearer ${await token('u3', { scope: 'demo', country: 'xx' })}` }),
    sees: ['demo__add', 'demo__count_slowly', 'demo__echo'],
    explained: [],
  },
  {
    who: 'role ops without ops:write',
    headers: async () => ({ authorization: `Bearer ${await token('u4', { roles: 'ops', scope: 'demo:none' })}` }),
    sees: [],
    explained: ['demo__add', 'demo__count_slowly', 'demo__echo', 'demo__weather', 't__echo', 't__pid'],
  },
  {
    who: 'role ops with ops:write',
    headers: async () => ({ authorization: `Bearer ${await token('u5', { roles: ['ops'], scope: 'ops:write' })}` }),
    sees: ['t__echo', 't__pid'],
    explained: ['demo__add', 'demo__count_slowly', 'demo__echo', 'demo__weather'],
  },
  {
    who: 'API key without scopes',
    headers: async () => ({ authorization: `Bearer ${apiKey}` }),
    sees: ['t__echo'],
    explained: ['demo__add', 'demo__count_slowly', 'demo__echo', 'demo__weather'],
  },
];

describe('one rule set decides tools/list and tools/call', () => {
  it.each(TABLE)('$who: the list and the calls agree', async ({ headers, sees, explained }) => {
    const h = await headers();
    expect(await listedTools(gw.url, h)).toEqual(sees);
    for (const tool of ALL) {
      const r = await mcp(gw.url, 'tools/call', { name: tool, arguments: ARGS[tool] }, h);
      const code = errorCode(r);
      if (sees.includes(tool)) {
        expect(r.body.result?.['isError'], `${tool} should be callable`).not.toBe(true);
        expect(code).toBeUndefined();
      } else if (explained.includes(tool)) {
        expect(code, `${tool} should be denied with an explanation`).toBe('TG_DENIED');
        expect(r.body.result?.['isError']).toBe(true);
        const missing =
          (r.body.result?.['_meta'] as Record<string, { data?: { missingScopes?: string[] } }>)['toolgate/error']?.data
            ?.missingScopes ?? [];
        expect(missing.length).toBeGreaterThan(0);
      } else {
        expect(code, `${tool} should look unknown`).toBe('TG_UNKNOWN_TOOL');
        expect(r.body.error?.code).toBe(-32602);
      }
    }
  });

  it('records denied calls in the audit log', async () => {
    await gw.gateway.security.audit?.flush();
    const store = gw.gateway.security.storeOrUndefined;
    const denied = await store?.queryAudit({ outcome: 'denied', limit: 100 });
    expect(denied?.some((r) => r.principal === 'u2' && r.tool === 'demo__echo' && r.errorCode === 'TG_DENIED')).toBe(
      true,
    );
  });
});

describe('rule set decisions', () => {
  const rules = createRuleSet({
    authEnabled: true,
    metadataUrl: 'https://gw.example/.well-known/oauth-protected-resource/mcp',
    config: AuthorizationSchema.parse({
      rules: [
        { prompts: ['docs__*'], when: { scopes: ['docs:read'] } },
        { resources: ['file:///public/*'], when: {} },
        { resources: ['file:///secret/*'], when: { scopes: ['secret:read', 'secret:list'] } },
      ],
    }),
  });
  const alice: Principal = { subject: 'alice', scopes: ['secret:list'], claims: {}, authMethod: 'bearer' };

  it('explains a prompt or resource denial as 403 insufficient_scope naming every scope needed', () => {
    const err = rules.explainDenial(alice, 'resource', 'file:///secret/plans.txt');
    expect(err?.code).toBe('TG_INSUFFICIENT_SCOPE');
    expect(err?.headers?.['www-authenticate']).toBe(
      'Bearer error="insufficient_scope", scope="secret:list secret:read", resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp", error_description="the resource needs scope secret:read"',
    );
    expect(rules.explainDenial(alice, 'prompt', 'docs__intro')?.spec.httpStatus).toBe(403);
  });

  it('allows what an empty condition names, denies unmatched items by default when auth is on', () => {
    expect(rules.resourceVisible(ANONYMOUS, 'file:///public/a.txt')).toBe(true);
    expect(rules.resourceVisible(alice, 'file:///elsewhere/a.txt')).toBe(false);
    expect(rules.explainDenial(alice, 'resource', 'file:///elsewhere/a.txt')).toBeUndefined();
  });

  it('allows everything unmatched when auth is off, and the stdio user unless a deny rule names it', () => {
    const open = createRuleSet({
      authEnabled: false,
      config: AuthorizationSchema.parse({
        rules: [{ tools: ['x__*'], effect: 'deny', when: { authMethods: ['stdio'] } }],
      }),
    });
    expect(open.decide(ANONYMOUS, 'tool', 'a__b').allowed).toBe(true);
    const closed = createRuleSet({
      authEnabled: true,
      config: AuthorizationSchema.parse({
        rules: [{ tools: ['x__*'], effect: 'deny', when: { authMethods: ['stdio'] } }],
      }),
    });
    const stdio: Principal = { subject: 'stdio', scopes: [], claims: {}, authMethod: 'stdio' };
    expect(closed.decide(stdio, 'tool', 'a__b').allowed).toBe(true);
    expect(closed.decide(stdio, 'tool', 'x__y').allowed).toBe(false);
    expect(closed.decide(ANONYMOUS, 'tool', 'a__b').allowed).toBe(false);
  });

  it('decides each principal on its own: cached decisions never leak to a principal with other scopes or kinds', () => {
    const withRead: Principal = { ...alice, scopes: ['secret:list', 'secret:read'] };
    const uri = 'file:///secret/plans.txt';
    // Asked twice: the second answer comes from the principal's cache and must be the same decision.
    expect(rules.resourceVisible(alice, uri)).toBe(false);
    expect(rules.decide(alice, 'resource', uri)).toBe(rules.decide(alice, 'resource', uri));
    expect(rules.decide(alice, 'resource', uri).missingScopes).toEqual(['secret:read']);
    // Same subject, another principal object with more scopes: decided afresh.
    expect(rules.resourceVisible(withRead, uri)).toBe(true);
    expect(rules.resourceVisible(alice, uri)).toBe(false);
    // A name cached as a resource says nothing about a tool or prompt of the same name.
    expect(rules.decide(withRead, 'tool', uri).allowed).toBe(false);
    expect(rules.decide(withRead, 'prompt', uri).allowed).toBe(false);
  });
});
