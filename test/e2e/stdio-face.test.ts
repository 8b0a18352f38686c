import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as V2Client } from '@modelcontextprotocol/client';
import { StdioClientTransport as V2Stdio } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1Stdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVERYTHING_SERVER, ROOT, TEST_SERVER, TOOLGATE_BIN } from '../helpers/paths.js';
import { descendants, waitFor } from '../helpers/processes.js';

let configFile: string;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-stdio-'));
  configFile = join(dir, 'toolgate.yaml');
  writeFileSync(
    configFile,
    `upstreams:
  ev:
    kind: stdio
    command: ${process.execPath}
    args: [${EVERYTHING_SERVER}, stdio]
  t:
    kind: stdio
    command: ${process.execPath}
    args: [${TEST_SERVER}]
  demo:
    kind: local
    module: ${join(ROOT, 'examples/tools/demo-tools.mjs')}
`,
  );
});

afterAll(async () => {
  await waitFor(() => descendants(process.pid).length === 0, 8000, 'no child processes left');
});

const serverParams = () => ({
  command: process.execPath,
  args: [TOOLGATE_BIN, 'serve', '--stdio', '--config', configFile],
  stderr: 'ignore' as const,
});

describe('stdio face', () => {
  it('serves a modern SDK v2 client (server/discover probe succeeds)', async () => {
    const client = new V2Client({ name: 'stdio-modern', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new V2Stdio(serverParams()));
    expect(client.getProtocolEra()).toBe('modern');
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain('ev__echo');
    expect(tools).toContain('demo__echo');
    const r = await client.callTool({ name: 'ev__echo', arguments: { message: 'over stdio' } });
    expect((r.content as { text: string }[])[0]?.text).toBe('Echo: over stdio');
    await client.close();
  });

  it('serves a legacy SDK v1 client, with progress', async () => {
    const client = new V1Client({ name: 'stdio-legacy', version: '1.0.0' });
    await client.connect(new V1Stdio(serverParams()));
    expect(client.getServerVersion()?.name).toBe('toolgate');
    let progress = 0;
    const r = await client.callTool({ name: 'demo__count_slowly', arguments: { n: 3, delayMs: 10 } }, undefined, {
      onprogress: () => progress++,
    });
    expect((r.content as { text: string }[])[0]?.text).toBe('Counted to 3.');
    expect(progress).toBeGreaterThanOrEqual(1);
    await client.close();
  });
});

/** The gateway on stdio, spoken to line by line. */
class RawStdio {
  readonly lines: string[] = [];
  private buffer = '';
  readonly proc: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;

  constructor() {
    this.proc = spawn(process.execPath, [TOOLGATE_BIN, 'serve', '--stdio', '--config', configFile], { stdio: 'pipe' });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.buffer += d;
      let i: number;
      while ((i = this.buffer.indexOf('\n')) !== -1) {
        this.lines.push(this.buffer.slice(0, i));
        this.buffer = this.buffer.slice(i + 1);
      }
    });
    this.proc.stderr.resume();
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  send(value: unknown): void {
    this.proc.stdin.write((typeof value === 'string' ? value : JSON.stringify(value)) + '\n');
  }

  async response(id: unknown): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await waitFor(
      () => {
        found = this.lines
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((m) => m['id'] === id && ('result' in m || 'error' in m));
        return found !== undefined;
      },
      15_000,
      `response ${String(id)}`,
    );
    return found as Record<string, unknown>;
  }
}

const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};

describe('stdio face on the wire', () => {
  it('writes only JSON-RPC to stdout, answers garbage with -32700, and checks the version on every request', async () => {
    const raw = new RawStdio();
    raw.send({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: META } });
    expect((await raw.response(1))['result']).toMatchObject({ supportedVersions: ['2026-07-28'] });
    // server-everything logs to stderr while it runs; none of that may reach stdout
    raw.send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { _meta: META, name: 'ev__echo', arguments: { message: 'a' } },
    });
    expect((await raw.response(2))['result']).toMatchObject({ content: [{ text: 'Echo: a' }] });
    raw.send('this is not json');
    await waitFor(() => raw.lines.some((l) => l.includes('-32700')), 5000, 'parse error');
    expect(JSON.parse(raw.lines.find((l) => l.includes('-32700')) as string)).toMatchObject({
      id: null,
      error: { code: -32700 },
    });
    raw.send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/list',
      params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '1900-01-01' } },
    });
    expect((await raw.response(3))['error']).toMatchObject({ code: -32022 });
    raw.send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { _meta: META, name: 'nope', arguments: {} } });
    expect((await raw.response(4))['error']).toMatchObject({ code: -32602 });

    for (const line of raw.lines) {
      const msg = JSON.parse(line) as Record<string, unknown>;
      expect(msg['jsonrpc']).toBe('2.0');
    }
    raw.proc.stdin.end();
    expect(await raw.exited).toBe(0);
  });

  it('does not answer a request the client cancelled, and tells the upstream', async () => {
    const raw = new RawStdio();
    raw.send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    await raw.response(1);
    raw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    raw.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 't__sleep', arguments: { ms: 20_000 } } });
    await new Promise((r) => setTimeout(r, 300));
    raw.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2, reason: 'user' } });
    raw.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 't__cancellations', arguments: {} } });
    const r = await raw.response(3);
    expect(r['result']).toMatchObject({ content: [{ text: '1' }] });
    await new Promise((r2) => setTimeout(r2, 200));
    expect(raw.lines.some((l) => (JSON.parse(l) as { id?: unknown }).id === 2)).toBe(false);
    raw.proc.stdin.end();
    expect(await raw.exited).toBe(0);
  });
});
