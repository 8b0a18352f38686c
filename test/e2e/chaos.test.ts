import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { TEST_SERVER } from '../helpers/paths.js';
import { descendants, groupAlive, waitFor } from '../helpers/processes.js';
import type { StdioUpstream } from '../../src/upstreams/stdio.js';

const started: TestGateway[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const g of started.splice(0)) await g.stop();
});

afterAll(async () => {
  await waitFor(() => descendants(process.pid).length === 0, 5000, 'no child processes left');
});

function stdio(name: string, mode: string, extra = ''): string {
  return `
  ${name}:
    kind: stdio
    command: ${process.execPath}
    args: [${TEST_SERVER}, ${mode}]
    stopTimeoutMs: 500
${extra}`;
}

async function gateway(upstreams: string, rest = ''): Promise<TestGateway> {
  const g = await startGateway(`upstreams:${upstreams}\n${rest}`);
  started.push(g);
  return g;
}

async function client(g: TestGateway): Promise<Client> {
  const c = new Client({ name: 'chaos', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await c.connect(new StreamableHTTPClientTransport(new URL(g.url)));
  clients.push(c);
  return c;
}

const text = (r: unknown): string => ((r as { content: { text?: string }[] }).content[0]?.text ?? '') as string;
const errorCode = (r: unknown): string | undefined =>
  ((r as { _meta?: Record<string, { code?: string }> })._meta?.['toolgate/error'] as { code?: string } | undefined)
    ?.code;

describe('upstream chaos', () => {
  it('fails a call in flight when the child is killed -9, restarts it, and serves the next call', async () => {
    const g = await gateway(stdio('t', 'normal', '    restart: { initialDelayMs: 50, maxDelayMs: 200 }'));
    const c = await client(g);
    const up = g.gateway.upstreams.get('t') as StdioUpstream;
    const firstPid = Number(text(await c.callTool({ name: 't__pid', arguments: {} })));
    expect(firstPid).toBe(up.pid);

    const inFlight = c.callTool({ name: 't__sleep', arguments: { ms: 30_000 } });
    await new Promise((r) => setTimeout(r, 150));
    process.kill(firstPid, 'SIGKILL');
    const failed = await inFlight;
    expect(failed.isError).toBe(true);
    expect(errorCode(failed)).toBe('TG_UPSTREAM_CRASHED');
    expect(text(failed)).toMatch(/exited while the call was in flight/);

    await waitFor(() => up.state === 'up', 10_000, 'restart');
    const secondPid = Number(text(await c.callTool({ name: 't__pid', arguments: {} })));
    expect(secondPid).not.toBe(firstPid);
    expect(groupAlive(firstPid)).toBe(false);
    expect(text(await c.callTool({ name: 't__echo', arguments: { message: 'again' } }))).toBe('echo: again');
  });

  it('ignores garbage an upstream writes to stdout and still answers', async () => {
    const g = await gateway(stdio('g', 'garbage'));
    const c = await client(g);
    const r = await c.callTool({ name: 'g__echo', arguments: { message: 'through the noise' } });
    expect(r.isError).toBeFalsy();
    expect(text(r)).toBe('echo: through the noise');
  });

  it('times out a call to an upstream that never answers, with an isError naming the limit', async () => {
    const g = await gateway(stdio('h', 'hang'), `tools:\n  'h__*': { timeoutMs: 300 }`);
    const c = await client(g);
    const r = await c.callTool({ name: 'h__echo', arguments: { message: 'anyone?' } });
    expect(r.isError).toBe(true);
    expect(errorCode(r)).toBe('TG_TIMEOUT');
    expect(text(r)).toContain('300 ms');
    expect(text(r)).toContain(`tools."h__*".timeoutMs`);
    // The gateway is still healthy: lists work, the upstream stays up.
    expect((await c.listTools()).tools.map((t) => t.name)).toContain('h__echo');
  });

  it('marks an upstream that exits at start down after bounded retries, without breaking the others', async () => {
    const g = await gateway(
      stdio(
        'dead',
        'exit-at-start',
        '    restart: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 40, recoverAfterMs: 0 }',
      ) + stdio('ok', 'normal'),
    );
    const dead = g.gateway.upstreams.get('dead') as StdioUpstream;
    await waitFor(() => dead.state === 'down', 10_000, 'upstream marked down');
    const c = await client(g);
    const names = (await c.listTools()).tools.map((t) => t.name);
    expect(names.some((n) => n.startsWith('dead__'))).toBe(false);
    expect(names).toContain('ok__echo');
    expect(text(await c.callTool({ name: 'ok__echo', arguments: { message: 'fine' } }))).toBe('echo: fine');
    const ready = await fetch(new URL('/readyz', g.url));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ upstreams: { dead: { state: 'down' }, ok: { state: 'up' } } });
  });

  it('hides the tools of an upstream that goes down, announces it, and answers its calls with isError', async () => {
    const g = await gateway(
      stdio('t', 'normal', '    restart: { maxAttempts: 0, recoverAfterMs: 0 }') + stdio('ok', 'normal'),
      'notifications:\n  debounceMs: 10',
    );
    const c = await client(g);
    let notified = 0;
    c.setNotificationHandler('notifications/tools/list_changed', async () => void notified++);
    await c.listen({ toolsListChanged: true });
    const up = g.gateway.upstreams.get('t') as StdioUpstream;
    process.kill(up.pid as number, 'SIGKILL');
    await waitFor(() => up.state === 'down', 10_000, 'down');
    await waitFor(() => notified > 0, 5000, 'list_changed');
    const names = (await c.listTools()).tools.map((t) => t.name);
    expect(names.some((n) => n.startsWith('t__'))).toBe(false);
    const r = await c.callTool({ name: 't__echo', arguments: { message: 'x' } });
    expect(r.isError).toBe(true);
    expect(errorCode(r)).toBe('TG_UPSTREAM_UNAVAILABLE');
    expect(text(r)).toContain('"t"');
  });

  it('reports a malformed upstream result and a JSON-RPC error as tool errors', async () => {
    const g = await gateway(stdio('t', 'normal'));
    const c = await client(g);
    const malformed = await c.callTool({ name: 't__malformed', arguments: {} });
    expect(errorCode(malformed)).toBe('TG_UPSTREAM_PROTOCOL');
    const failed = await c.callTool({ name: 't__fail', arguments: {} });
    expect(errorCode(failed)).toBe('TG_UPSTREAM_ERROR');
    expect(text(failed)).toContain('deliberate failure');
  });

  it('stops a child that ignores SIGTERM by killing its process group', async () => {
    const g = await gateway(stdio('stubborn', 'ignore-term'));
    const up = g.gateway.upstreams.get('stubborn') as StdioUpstream;
    const pid = up.pid as number;
    // This child ignores both stdin EOF and SIGTERM: only the SIGKILL escalation ends it.
    started.splice(started.indexOf(g), 1);
    await g.stop();
    expect(groupAlive(pid)).toBe(false);
  });
});
