import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, TEST_SERVER } from '../helpers/paths.js';
import { descendants, waitFor } from '../helpers/processes.js';
import { serveProcess, type ServedProcess } from '../helpers/serve-process.js';

afterAll(async () => {
  await waitFor(() => descendants(process.pid).length === 0, 8000, 'no child processes left');
});

/** Runs `toolgate serve` as a real process and learns its URL from the startup log line. */
async function serve(extra: string): Promise<ServedProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-shutdown-'));
  const file = join(dir, 'toolgate.yaml');
  writeFileSync(
    file,
    `listen:
  port: 0
upstreams:
  demo:
    kind: local
    module: ${join(ROOT, 'examples/tools/demo-tools.mjs')}
  t:
    kind: stdio
    command: ${process.execPath}
    args: [${TEST_SERVER}]
${extra}`,
  );
  return serveProcess(file);
}

async function client(url: string): Promise<Client> {
  const c = new Client({ name: 'shutdown-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
}

describe('graceful shutdown', () => {
  it('lets in-flight calls finish on SIGTERM, then exits 0 leaving no child process', async () => {
    const s = await serve('');
    const c = await client(s.url);
    const calls = Array.from({ length: 5 }, (_, i) =>
      c.callTool({ name: 'demo__count_slowly', arguments: { n: 4, delayMs: 150 + i } }),
    );
    const remote = c.callTool({ name: 't__sleep', arguments: { ms: 500 } });
    await new Promise((r) => setTimeout(r, 150));
    s.proc.kill('SIGTERM');
    const results = await Promise.all(calls);
    for (const r of results) {
      expect(r.isError).toBeFalsy();
      expect((r.content as { text: string }[])[0]?.text).toBe('Counted to 4.');
    }
    expect(((await remote).content as { text: string }[])[0]?.text).toBe('slept 500');
    expect(await s.exited).toBe(0);
    expect(s.stderr()).toContain('toolgate stopped');
    await waitFor(() => descendants(s.proc.pid as number).length === 0, 5000, 'children gone');
  });

  it('cancels calls that outlive the drain deadline, answering each one', async () => {
    const s = await serve('shutdown:\n  drainTimeoutMs: 300\n');
    const c = await client(s.url);
    const calls = [
      c.callTool({ name: 't__sleep', arguments: { ms: 30_000 } }),
      c.callTool({ name: 'demo__count_slowly', arguments: { n: 100, delayMs: 1000 } }),
    ];
    await new Promise((r) => setTimeout(r, 200));
    s.proc.kill('SIGTERM');
    const results = await Promise.all(calls);
    for (const r of results) {
      expect(r.isError).toBe(true);
      expect((r.content as { text: string }[])[0]?.text).toMatch(/shutting down/);
    }
    expect(await s.exited).toBe(0);
  });

  it('stops accepting new connections while draining, and never reports ready', async () => {
    const s = await serve('shutdown:\n  drainTimeoutMs: 3000\n');
    const c = await client(s.url);
    const slow = c.callTool({ name: 't__sleep', arguments: { ms: 1200 } });
    await new Promise((r) => setTimeout(r, 150));
    s.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    const ready = await fetch(new URL('/readyz', s.url)).catch(() => undefined);
    // Either the listener is already closed to new connections, or readiness reports draining.
    if (ready !== undefined) expect(ready.status).toBe(503);
    expect((await slow).isError).toBeFalsy();
    expect(await s.exited).toBe(0);
  });
});
