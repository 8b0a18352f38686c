import { createServer, type Server } from 'node:http';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerToken } from '../../src/auth/authenticate.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { errorCode, listedTools, mcp, resultText, startIssuer, type TestIssuer } from './helpers.js';

const RESOURCE = 'https://tools.test.example/mcp';
let idp: TestIssuer;
let gw: TestGateway;
const now = (): number => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  idp = await startIssuer();
  gw = await startGateway(`
auth:
  resource: ${RESOURCE}
  bearer:
    issuer: ${idp.issuer}
    jwksUri: ${idp.jwksUri}
    jwksCooldownMs: 0
  apiKeys: {}
authorization:
  rules:
    - tools: ["demo__*"]
      when: { scopes: [tools:read] }
upstreams:
  demo:
    kind: local
    module: examples/tools/demo-tools.mjs
`);
});
afterAll(async () => {
  await gw?.stop();
  await idp?.close();
});

const good = (): Record<string, unknown> => ({
  iss: idp.issuer,
  aud: RESOURCE,
  sub: 'alice',
  scope: 'tools:read',
  exp: now() + 300,
  iat: now(),
});
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('bearer tokens (OAuth 2.1 resource server)', () => {
  it('accepts a valid token and lists the tools its scopes allow', async () => {
    expect(await listedTools(gw.url, bearer(await idp.sign(good())))).toEqual([
      'demo__add',
      'demo__count_slowly',
      'demo__echo',
      'demo__weather',
    ]);
  });

  it('never lets a token ride on a cached one: same signature, other payload is verified afresh and refused', async () => {
    const genuine = await idp.sign(good());
    expect(await listedTools(gw.url, bearer(genuine))).toContain('demo__echo'); // now cached
    const [header, , signature] = genuine.split('.');
    const payload = Buffer.from(JSON.stringify({ ...good(), sub: 'mallory', scope: 'tools:read admin' })).toString(
      'base64url',
    );
    const forged = `${header}.${payload}.${signature}`; // shares the cached token's tail (its signature)
    const r = await mcp(gw.url, 'tools/list', {}, bearer(forged));
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('TG_UNAUTHENTICATED');
    expect(await listedTools(gw.url, bearer(genuine))).toContain('demo__echo'); // the genuine one still works
  });

  it('answers 401 with a resource_metadata challenge when no credential is sent', async () => {
    const r = await mcp(gw.url, 'tools/list');
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('TG_UNAUTHENTICATED');
    const challenge = r.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(
      'resource_metadata="https://tools.test.example/.well-known/oauth-protected-resource/mcp"',
    );
    expect(challenge).toContain('scope="tools:read"');
  });

  it('serves RFC 9728 metadata at the root and the path-suffixed location', async () => {
    const base = new URL(gw.url).origin;
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        resource: RESOURCE,
        authorization_servers: [idp.issuer],
        scopes_supported: ['tools:read'],
        bearer_methods_supported: ['header'],
        resource_name: 'toolgate MCP gateway',
      });
    }
  });

  const attacks: [string, () => Promise<{ token?: string; query?: string }>, RegExp][] = [
    [
      'alg none',
      async () => ({ token: `${b64({ alg: 'none', kid: idp.kid })}.${b64(good())}.` }),
      /algorithm|invalid|malformed/,
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(idp.publicJwk));
        return { token: await new SignJWT(good()).setProtectedHeader({ alg: 'HS256', kid: idp.kid }).sign(secret) };
      },
      /algorithm/,
    ],
    [
      'expired',
      async () => ({ token: await idp.sign({ ...good(), exp: now() - 3600, iat: now() - 7200 }) }),
      /expired/,
    ],
    ['not yet valid', async () => ({ token: await idp.sign({ ...good(), nbf: now() + 3600 }) }), /not valid yet/],
    [
      'wrong iss',
      async () => ({ token: await idp.sign({ ...good(), iss: 'https://evil.example' }) }),
      /another issuer/,
    ],
    [
      'wrong aud',
      async () => ({ token: await idp.sign({ ...good(), aud: 'garbage' }) }),
      /not issued for this resource/,
    ],
    [
      'token for another resource',
      async () => ({ token: await idp.sign({ ...good(), aud: 'https://other-server.example/mcp' }) }),
      /not issued for this resource/,
    ],
    [
      'unknown kid',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return { token: await idp.sign(good(), { kid: 'rotated-away', key: privateKey }) };
      },
      /unknown key/,
    ],
    [
      'known kid, signed by another key',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return { token: await idp.sign(good(), { key: privateKey }) };
      },
      /signature/,
    ],
    ['token in the query string', async () => ({ query: `access_token=${await idp.sign(good())}` }), /query string/],
    ['no sub claim', async () => ({ token: await idp.sign({ ...good(), sub: undefined }) }), /subject|sub/],
    ['garbage', async () => ({ token: 'not-a-token' }), /not a JWT|introspection/],
  ];

  it.each(attacks)('rejects %s with 401 invalid_token', async (_name, make, reason) => {
    const { token, query } = await make();
    const url = query === undefined ? gw.url : `${gw.url}?${query}`;
    const r = await mcp(url, 'tools/list', {}, token === undefined ? {} : bearer(token));
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('TG_UNAUTHENTICATED');
    expect(r.body.error?.message).toMatch(reason);
    expect(r.headers.get('www-authenticate')).toMatch(/error="invalid_(token|request)"/);
    expect(r.headers.get('www-authenticate')).toContain('resource_metadata=');
  });

  it('refuses a query-string token even next to a valid Authorization header', async () => {
    const t = await idp.sign(good());
    const r = await mcp(`${gw.url}?access_token=${t}`, 'tools/list', {}, bearer(t));
    expect(r.status).toBe(401);
  });

  it('verifies a token once and serves later requests from the cache', async () => {
    const t = await idp.sign({ ...good(), sub: 'cache-check' });
    const before = idp.fetches();
    for (let i = 0; i < 5; i++) expect((await mcp(gw.url, 'tools/list', {}, bearer(t))).status).toBe(200);
    expect(idp.fetches()).toBe(before); // keys already cached: no JWKS fetch per request
  });

  it('gives a caller without the scope an empty list, and a call an isError naming the missing scope', async () => {
    const t = await idp.sign({ ...good(), scope: 'other' });
    expect(await listedTools(gw.url, bearer(t))).toEqual([]);
    const r = await mcp(gw.url, 'tools/call', { name: 'demo__echo', arguments: { message: 'hi' } }, bearer(t));
    expect(r.status).toBe(200);
    expect(r.body.result?.['isError']).toBe(true);
    expect(errorCode(r)).toBe('TG_DENIED');
    expect(resultText(r)).toContain('"tools:read"');
  });

  it('binds a legacy session to the credential that created it', async () => {
    const alice = bearer(await idp.sign(good()));
    const init = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...alice },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    expect(init.status).toBe(200);
    const sid = init.headers.get('mcp-session-id') as string;
    const list = (headers: Record<string, string>): Promise<Response> =>
      fetch(gw.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'mcp-session-id': sid,
          'mcp-protocol-version': '2025-11-25',
          ...headers,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
    expect((await list(alice)).status).toBe(200);
    expect((await list(bearer(await idp.sign({ ...good(), sub: 'mallory' })))).status).toBe(404);
    expect((await list({})).status).toBe(401);
  });
});

describe('API keys', () => {
  it('accepts a key in Authorization or X-API-Key, rejects it once revoked', async () => {
    const keys = gw.gateway.security.apiKeys;
    if (keys === undefined) throw new Error('api keys not enabled');
    const created = await keys.create('ci-bot', ['tools:read'], null);
    expect(created.key).toMatch(/^tgk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(await listedTools(gw.url, bearer(created.key))).toContain('demo__echo');
    const r = await mcp(
      gw.url,
      'tools/call',
      { name: 'demo__echo', arguments: { message: 'from a key' } },
      { 'x-api-key': created.key },
    );
    expect(resultText(r)).toBe('from a key');
    const wrong = created.key.slice(0, -4) + 'AAAA';
    expect((await mcp(gw.url, 'tools/list', {}, bearer(wrong))).status).toBe(401);
    expect(await keys.revoke('ci-bot')).toBe(1);
    expect((await mcp(gw.url, 'tools/list', {}, bearer(created.key))).status).toBe(401);
  });

  it('rejects an expired key', async () => {
    const keys = gw.gateway.security.apiKeys;
    if (keys === undefined) throw new Error('api keys not enabled');
    const created = await keys.create('short-lived', ['tools:read'], Date.now() - 1000);
    expect((await mcp(gw.url, 'tools/list', {}, bearer(created.key))).status).toBe(401);
  });
});

describe('opaque tokens (RFC 7662 introspection)', () => {
  let server: Server;
  let gw2: TestGateway;
  let hits = 0;
  const answers: Record<string, Record<string, unknown>> = {
    'opaque-good': {
      active: true,
      sub: 'svc-1',
      aud: RESOURCE,
      scope: 'tools:read',
      exp: Math.floor(Date.now() / 1000) + 600,
    },
    'opaque-other-aud': { active: true, sub: 'svc-1', aud: 'https://elsewhere.example/mcp', scope: 'tools:read' },
    'opaque-inactive': { active: false },
  };
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const ok = req.headers.authorization === `Basic ${Buffer.from('gw:s3cret').toString('base64')}`;
        const token = new URLSearchParams(body).get('token') ?? '';
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ok ? (answers[token] ?? { active: false }) : { error: 'invalid_client' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    gw2 = await startGateway(`
auth:
  resource: ${RESOURCE}
  bearer:
    issuer: https://idp.test.example
    jwksUri: http://127.0.0.1:1/unused
    introspection: { url: "http://127.0.0.1:${port}/introspect", clientId: gw, clientSecret: s3cret }
authorization:
  rules: [ { tools: ["demo__*"], when: { scopes: [tools:read] } } ]
upstreams:
  demo: { kind: local, module: examples/tools/demo-tools.mjs }
`);
  });
  afterAll(async () => {
    await gw2?.stop();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('accepts an active token for this resource and caches the answer', async () => {
    const before = hits;
    expect(await listedTools(gw2.url, bearer('opaque-good'))).toContain('demo__echo');
    expect(await listedTools(gw2.url, bearer('opaque-good'))).toContain('demo__echo');
    expect(hits - before).toBe(1);
  });

  it.each(['opaque-other-aud', 'opaque-inactive', 'opaque-unknown'])('rejects %s', async (token) => {
    const r = await mcp(gw2.url, 'tools/list', {}, bearer(token));
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('Authorization header parsing', () => {
  it('takes the one token of "Bearer <token>" (scheme in any case, blanks around it) and nothing else', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer \t tgk_x_y \t')).toBe('tgk_x_y');
    expect(bearerToken('BEARER t')).toBe('t');
    for (const bad of [
      'Bearer',
      'Bearer ',
      'Bearer  \t ',
      'Bearerabc',
      'Basic dXNlcjpwdw==',
      'Bearer a b',
      'Bearer a\tb',
    ])
      expect(bearerToken(bad), bad).toBeUndefined();
  });
});
