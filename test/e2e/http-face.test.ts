import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway(`
listen:
  maxBodyBytes: 2048
sessions:
  max: 3
upstreams:
  demo:
    kind: local
    module: examples/tools/demo-tools.mjs
`);
});
afterAll(async () => {
  await gw?.stop();
});

const MODERN = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
const ACCEPT = 'application/json, text/event-stream';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => {
    id?: unknown;
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: Record<string, unknown> };
  };
}

/** Raw HTTP so the test controls every header (fetch would add or forbid some, e.g. Host). */
function send(method: string, headers: Record<string, string>, body?: unknown): Promise<Reply> {
  const url = new URL(gw.url);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) }),
        );
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

function modern(
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  id: number | null = 1,
): Promise<Reply> {
  const name = method === 'tools/call' ? (params['name'] as string) : undefined;
  return send(
    'POST',
    {
      accept: ACCEPT,
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(name ? { 'mcp-name': name } : {}),
      ...headers,
    },
    { jsonrpc: '2.0', ...(id === null ? {} : { id }), method, params: { _meta: META, ...params } },
  );
}

async function initialize(): Promise<string> {
  const r = await send(
    'POST',
    { accept: ACCEPT },
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    },
  );
  expect(r.status).toBe(200);
  return r.headers['mcp-session-id'] as string;
}

describe('HTTP face: modern era (2026-07-28)', () => {
  it('serves server/discover with supported versions, capabilities and serverInfo', async () => {
    const r = await modern('server/discover');
    expect(r.status).toBe(200);
    const result = r.json().result ?? {};
    expect(result['supportedVersions']).toEqual([MODERN]);
    expect(result['resultType']).toBe('complete');
    expect(result['cacheScope']).toBe('private');
    expect((result['_meta'] as Record<string, unknown>)['io.modelcontextprotocol/serverInfo']).toMatchObject({
      name: 'toolgate',
    });
  });

  it('calls a tool statelessly, no session header minted', async () => {
    const r = await modern('tools/call', { name: 'demo__echo', arguments: { message: 'hi' } });
    expect(r.status).toBe(200);
    expect(r.headers['mcp-session-id']).toBeUndefined();
    expect(r.json().result).toMatchObject({ content: [{ type: 'text', text: 'hi' }], resultType: 'complete' });
  });

  it('rejects an Mcp-Name header that disagrees with the body (tool resolved from the body, never the header)', async () => {
    const r = await modern(
      'tools/call',
      { name: 'demo__echo', arguments: { message: 'x' } },
      { 'mcp-name': 'demo__add' },
    );
    expect(r.status).toBe(400);
    expect(r.json().error).toMatchObject({ code: -32020 });
  });

  it('decodes base64 sentinel header values before comparing', async () => {
    const name = 'demo__echo';
    const r = await modern(
      'tools/call',
      { name, arguments: { message: 'b64' } },
      { 'mcp-name': `=?base64?${Buffer.from(name).toString('base64')}?=` },
    );
    expect(r.status).toBe(200);
  });

  it('rejects a missing Mcp-Method header and a version header that disagrees with _meta', async () => {
    const noMethod = await send(
      'POST',
      { accept: ACCEPT, 'mcp-protocol-version': MODERN },
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } },
    );
    expect(noMethod.status).toBe(400);
    expect(noMethod.json().error?.code).toBe(-32020);
    const mismatch = await send(
      'POST',
      { accept: ACCEPT, 'mcp-protocol-version': '2025-11-25', 'mcp-method': 'tools/list' },
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } },
    );
    expect(mismatch.status).toBe(400);
    expect(mismatch.json().error?.code).toBe(-32020);
  });

  it('rejects an unsupported version with -32022 naming the supported ones', async () => {
    const r = await send(
      'POST',
      { accept: ACCEPT, 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/list' },
      {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/list',
        params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } },
      },
    );
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({
      id: 7,
      error: { code: -32022, data: { supported: [MODERN], requested: '2099-01-01' } },
    });
  });

  it('rejects a request without client capabilities in _meta with -32602', async () => {
    const r = await send(
      'POST',
      { accept: ACCEPT, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/list',
        params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } },
      },
    );
    expect(r.status).toBe(400);
    expect(r.json().error?.code).toBe(-32602);
  });

  it('answers an unknown method with 404 and -32601, and legacy-only methods are unknown here', async () => {
    const r = await modern('no/such');
    expect(r.status).toBe(404);
    expect(r.json().error?.code).toBe(-32601);
    expect((await modern('ping')).status).toBe(404);
  });

  it('accepts notifications with 202 and no body', async () => {
    const r = await modern('notifications/cancelled', { requestId: 5 }, {}, null);
    expect(r.status).toBe(202);
    expect(r.body).toBe('');
  });

  it('streams progress as SSE only when the client asked for it', async () => {
    const r = await modern('tools/call', {
      name: 'demo__count_slowly',
      arguments: { n: 2, delayMs: 10 },
      _meta: { ...META, progressToken: 'p1' },
    });
    expect(r.headers['content-type']).toContain('text/event-stream');
    const events = r.body.split('\n\n').filter((e) => e.startsWith('event: message'));
    const messages = events.map(
      (e) =>
        JSON.parse(e.slice(e.indexOf('data: ') + 6)) as {
          method?: string;
          params?: { progressToken?: string };
          result?: unknown;
        },
    );
    expect(
      messages.filter((m) => m.method === 'notifications/progress').every((m) => m.params?.progressToken === 'p1'),
    ).toBe(true);
    expect(messages.at(-1)?.result).toMatchObject({ content: [{ text: 'Counted to 2.' }] });
  });

  it('answers GET with 405 for modern clients', async () => {
    const r = await send('GET', { accept: 'text/event-stream' });
    expect(r.status).toBe(405);
  });
});

describe('HTTP face: legacy era (≤2025-11-25)', () => {
  it('requires a session after initialize and rejects unknown sessions with 404', async () => {
    const noSession = await send('POST', { accept: ACCEPT }, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect(noSession.status).toBe(400);
    const unknown = await send(
      'POST',
      { accept: ACCEPT, 'mcp-session-id': 'nope' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    );
    expect(unknown.status).toBe(404);
  });

  it('serves a session until DELETE, then 404', async () => {
    const sid = await initialize();
    const headers = { accept: ACCEPT, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
    expect((await send('POST', headers, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
    const list = await send('POST', headers, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect(list.json().result?.['tools']).toBeInstanceOf(Array);
    expect(list.json().result?.['resultType']).toBeUndefined();
    expect((await send('POST', headers, { jsonrpc: '2.0', id: 3, method: 'ping' })).json().result).toEqual({});
    expect((await send('DELETE', headers)).status).toBe(200);
    expect((await send('POST', headers, { jsonrpc: '2.0', id: 4, method: 'tools/list' })).status).toBe(404);
  });

  it('rejects an unsupported MCP-Protocol-Version on a session', async () => {
    const sid = await initialize();
    const r = await send(
      'POST',
      { accept: ACCEPT, 'mcp-session-id': sid, 'mcp-protocol-version': '1999-01-01' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    );
    expect(r.status).toBe(400);
    await send('DELETE', { 'mcp-session-id': sid });
  });

  it('bounds the number of sessions (503 when full)', async () => {
    const ids: string[] = [];
    let full: Reply | undefined;
    for (let i = 0; i < 5 && full === undefined; i++) {
      const r = await send(
        'POST',
        { accept: ACCEPT },
        { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {} } },
      );
      if (r.status === 503) full = r;
      else ids.push(r.headers['mcp-session-id'] as string);
    }
    expect(ids.length).toBe(3);
    expect(full?.status).toBe(503);
    expect(full?.headers['retry-after']).toBeDefined();
    for (const id of ids) await send('DELETE', { 'mcp-session-id': id });
  });
});

describe('HTTP face: guards and input', () => {
  it('rejects a foreign Origin with 403 (DNS rebinding)', async () => {
    const r = await modern('tools/list', {}, { origin: 'http://evil.example.com' });
    expect(r.status).toBe(403);
    const local = await modern('tools/list', {}, { origin: 'http://localhost:3000' });
    expect(local.status).toBe(200);
  });

  it('rejects a foreign Host with 403', async () => {
    const r = await modern('tools/list', {}, { host: 'evil.example.com' });
    expect(r.status).toBe(403);
  });

  it('rejects a body over the limit with 413 and loses nothing else', async () => {
    const r = await modern('tools/call', { name: 'demo__echo', arguments: { message: 'x'.repeat(5000) } });
    expect(r.status).toBe(413);
    expect((await modern('tools/list')).status).toBe(200);
  });

  it('answers malformed JSON with -32700 and a non-JSON-RPC body with -32600', async () => {
    const bad = await send('POST', { accept: ACCEPT }, '{"jsonrpc": "2.0", ');
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ id: null, error: { code: -32700 } });
    const invalid = await send('POST', { accept: ACCEPT }, { hello: 'world' });
    expect(invalid.status).toBe(400);
    expect(invalid.json().error?.code).toBe(-32600);
  });

  it('rejects a wrong content type with 415', async () => {
    const r = await send('POST', { accept: ACCEPT, 'content-type': 'text/plain' }, 'hello');
    expect(r.status).toBe(415);
  });

  it('reports health and readiness', async () => {
    const h = await fetch(new URL('/healthz', gw.url));
    expect(h.status).toBe(200);
    const ready = await fetch(new URL('/readyz', gw.url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', upstreams: { demo: { state: 'up' } } });
    const before = await (await fetch(new URL('/metrics', gw.url))).text();
    const count = (text: string): number =>
      Number(/toolgate_tool_calls_total\{tool="demo__echo",outcome="ok"\} (\d+)/.exec(text)?.[1] ?? 0);
    await modern('tools/call', { name: 'demo__echo', arguments: { message: 'counted' } });
    const metrics = await (await fetch(new URL('/metrics', gw.url))).text();
    expect(count(metrics)).toBe(count(before) + 1);
    expect(metrics).toMatch(/toolgate_tool_call_duration_seconds_count\{tool="demo__echo"\} \d+/);
  });
});
