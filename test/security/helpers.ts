import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

const MODERN = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

/** A reply of the MCP endpoint. */
export interface McpReply {
  status: number;
  headers: Headers;
  body: { result?: Record<string, unknown>; error?: { code: number; message: string; data?: Record<string, unknown> } };
}

/** One modern (2026-07-28) MCP request with JSON response, headers as the client chooses. */
export async function mcp(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<McpReply> {
  const name =
    method === 'tools/call' || method === 'prompts/get'
      ? params['name']
      : method === 'resources/read'
        ? params['uri']
        : undefined;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: META } }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as McpReply['body']) };
}

/** Names of the tools a credential sees. */
export async function listedTools(url: string, headers: Record<string, string> = {}): Promise<string[]> {
  const r = await mcp(url, 'tools/list', {}, headers);
  const tools = (r.body.result?.['tools'] ?? []) as { name: string }[];
  return tools.map((t) => t.name).sort();
}

/** Text of the first content block of a tools/call result. */
export function resultText(r: McpReply): string {
  const content = (r.body.result?.['content'] ?? []) as { text?: string }[];
  return content[0]?.text ?? '';
}

/** The toolgate error code of an isError result or JSON-RPC error. */
export function errorCode(r: McpReply): string | undefined {
  const meta = (r.body.result?.['_meta'] as Record<string, { code?: string }> | undefined)?.['toolgate/error'];
  return meta?.code ?? (r.body.error?.data?.['code'] as string | undefined);
}

/** An issuer with an RSA signing key, its JWKS served on 127.0.0.1. */
export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  kid: string;
  publicJwk: JWK;
  /** Number of JWKS fetches served. */
  fetches: () => number;
  sign(
    claims: JWTPayload,
    options?: { kid?: string; alg?: string; key?: Parameters<SignJWT['sign']>[0] },
  ): Promise<string>;
  close(): Promise<void>;
}

/** Starts a local JWKS endpoint for a fresh RS256 key. */
export async function startIssuer(issuer = 'https://idp.test.example'): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = 'test-key-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    issuer,
    jwksUri: `http://127.0.0.1:${port}/jwks`,
    kid,
    publicJwk,
    fetches: () => fetches,
    sign: (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? kid, typ: 'at+jwt' })
        .sign(options.key ?? privateKey),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
