import { spawn, type ChildProcess } from 'node:child_process';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpUpstream } from '../../src/upstreams/http.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { ROOT } from '../helpers/paths.js';
import { descendants, waitFor } from '../helpers/processes.js';
import { startEverythingHttp, type HttpUpstreamProcess } from '../helpers/upstreams.js';

let v2: { child: ChildProcess; url: string };
let everything: HttpUpstreamProcess;
let gw: TestGateway;
let client: Client;

beforeAll(async () => {
  const child = spawn(process.execPath, [`${ROOT}test/fixtures/servers/sdk-v2-http.mjs`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      const m = /listening on (\d+)/.exec(d.toString());
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`fixture exited ${code}`)));
  });
  v2 = { child, url: `http://127.0.0.1:${port}/mcp` };
  everything = await startEverythingHttp();
  gw = await startGateway(`
upstreams:
  modern:
    kind: http
    url: ${v2.url}
  legacy:
    kind: http
    url: ${everything.url}
  pinned:
    kind: http
    url: ${v2.url}
    era: legacy
`);
  client = new Client({ name: 'http-upstreams', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
});

afterAll(async () => {
  await client?.close();
  await gw?.stop();
  await everything?.stop();
  v2?.child.kill('SIGTERM');
  await waitFor(() => descendants(process.pid).length === 0, 5000, 'no child processes left');
});

const text = (r: unknown): string => (r as { content: { text: string }[] }).content[0]?.text ?? '';

describe('http upstreams', () => {
  it('negotiates the modern era with a dual-era upstream and the legacy era with a legacy-only one', () => {
    expect(gw.gateway.upstreams.get('modern')?.info?.era).toBe('modern');
    expect(gw.gateway.upstreams.get('legacy')?.info?.era).toBe('legacy');
    expect(gw.gateway.upstreams.get('pinned')?.info?.era).toBe('legacy');
  });

  it('calls tools on both, the upstream seeing the era toolgate negotiated', async () => {
    expect(text(await client.callTool({ name: 'modern__echo', arguments: { message: 'hi' } }))).toBe('v2: hi');
    expect(text(await client.callTool({ name: 'modern__era', arguments: {} }))).toBe('modern');
    expect(text(await client.callTool({ name: 'pinned__era', arguments: {} }))).toBe('legacy');
    expect(text(await client.callTool({ name: 'legacy__echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');
  });

  it('re-initializes an expired legacy upstream session transparently', async () => {
    const up = gw.gateway.upstreams.get('legacy') as HttpUpstream;
    const before = up.sessionId as string;
    const del = await fetch(everything.url, {
      method: 'DELETE',
      headers: { 'mcp-session-id': before, 'mcp-protocol-version': '2025-11-25' },
    });
    expect(del.status).toBe(200);
    expect(text(await client.callTool({ name: 'legacy__echo', arguments: { message: 'after expiry' } }))).toBe(
      'Echo: after expiry',
    );
    expect(up.sessionId).not.toBe(before);
  });
});
