import { spawn, type ChildProcess } from 'node:child_process';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { ROOT, TEST_SERVER } from '../helpers/paths.js';
import { descendants, waitFor } from '../helpers/processes.js';
import type { StdioUpstream } from '../../src/upstreams/stdio.js';

const POLICY_SERVER = `${ROOT}test/fixtures/servers/policy-server.mjs`;

const started: TestGateway[] = [];
const clients: Client[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const g of started.splice(0)) await g.stop();
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
});

afterAll(async () => {
  await waitFor(() => descendants(process.pid).length === 0, 5000, 'no child processes left');
});

/** Starts the policy server over HTTP and returns its MCP URL. */
async function httpPolicyServer(label = 'remote'): Promise<string> {
  const child = spawn(process.execPath, [POLICY_SERVER, 'http', label], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stderr?.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /listening (\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`policy server exited (${code}): ${text}`)));
  });
  return `http://127.0.0.1:${port}/mcp`;
}

function stdio(name: string, args: string, extra = ''): string {
  return `
  ${name}:
    kind: stdio
    command: ${process.execPath}
    args: [${args}]
    stopTimeoutMs: 500
${extra}`;
}

async function gateway(yaml: string): Promise<TestGateway> {
  const g = await startGateway(yaml);
  started.push(g);
  return g;
}

async function client(g: TestGateway): Promise<Client> {
  const c = new Client({ name: 'policies', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await c.connect(new StreamableHTTPClientTransport(new URL(g.url)));
  clients.push(c);
  return c;
}

type Result = { content: { text?: string }[]; isError?: boolean; _meta?: Record<string, unknown> };
const text = (r: unknown): string => (r as Result).content[0]?.text ?? '';
const errorMeta = (r: unknown) =>
  (r as Result)._meta?.['toolgate/error'] as
    { code?: string; data?: Record<string, unknown>; retryAfterMs?: number } | undefined;
const call = async (c: Client, name: string, args: Record<string, unknown> = {}): Promise<Result> =>
  (await c.callTool({ name, arguments: args })) as Result;
const metrics = async (g: TestGateway): Promise<string> => (await fetch(new URL('/metrics', g.url))).text();

describe('policies end to end: retries', () => {
  it('retries transient HTTP 503s only for tools that are safe to repeat', async () => {
    const url = await httpPolicyServer();
    const g = await gateway(
      `upstreams:\n  p:\n    kind: http\n    url: ${url}\ndefaults:\n  retry: { initialDelayMs: 10, maxDelayMs: 50 }\n`,
    );
    const c = await client(g);

    const read = await call(c, 'p__read_item', { key: 'r1', failures: 2 });
    expect(read.isError).toBeFalsy();
    expect(text(read)).toBe('read_item r1 after 2 failures');
    expect(text(await call(c, 'p__attempts', { key: 'r1' }))).toBe('3');

    const write = await call(c, 'p__write_item', { key: 'w1', failures: 2 });
    expect(write.isError).toBe(true);
    expect(errorMeta(write)?.code).toBe('TG_UPSTREAM_TRANSPORT');
    expect(text(write)).toContain('answered HTTP 503');
    expect(text(await call(c, 'p__attempts', { key: 'w1' }))).toBe('1');

    const exhausted = await call(c, 'p__read_item', { key: 'r2', failures: 5 });
    expect(errorMeta(exhausted)?.code).toBe('TG_RETRY_EXHAUSTED');
    expect(errorMeta(exhausted)?.data).toMatchObject({ attempts: 3, lastCode: 'TG_UPSTREAM_TRANSPORT' });
    expect(errorMeta(exhausted)?.retryAfterMs).toBe(0); // the upstream's Retry-After: 0, captured from the response
    expect(text(await call(c, 'p__attempts', { key: 'r2' }))).toBe('3');

    expect(await metrics(g)).toContain('toolgate_retries_total{tool="p__read_item",code="TG_UPSTREAM_TRANSPORT"} 4');
  });

  it('retries a tool without annotations when config says it is idempotent', async () => {
    const url = await httpPolicyServer();
    const g = await gateway(
      `upstreams:\n  p:\n    kind: http\n    url: ${url}\ndefaults:\n  retry: { initialDelayMs: 10 }\ntools:\n  p__write_item: { retry: { idempotent: true } }\n`,
    );
    const c = await client(g);
    expect(text(await call(c, 'p__write_item', { key: 'w', failures: 1 }))).toBe('write_item w after 1 failures');
  });
});

describe('policies end to end: circuit breaker', () => {
  it('opens after repeated upstream failures, fails fast with a retry hint, and recovers through a probe', async () => {
    const url = await httpPolicyServer();
    const g = await gateway(
      `upstreams:\n  p:\n    kind: http\n    url: ${url}\ntools:\n  p__whoami:\n    retry: { enabled: false }\n    circuitBreaker: { tool: { consecutiveFailures: 2, openMs: 300 } }\n`,
    );
    const c = await client(g);
    await call(c, 'p__outage', { calls: 2 });
    for (let i = 0; i < 2; i++) expect(errorMeta(await call(c, 'p__whoami'))?.code).toBe('TG_UPSTREAM_TRANSPORT');

    // The upstream is healthy again, but the breaker answers without asking it.
    const open = await call(c, 'p__whoami');
    expect(open.isError).toBe(true);
    expect(errorMeta(open)?.code).toBe('TG_CIRCUIT_OPEN');
    expect(text(open)).toMatch(
      /^The tool "p__whoami" is temporarily unavailable: it failed 2 times in a row, .* Try again in \d+ ms\.$/,
    );
    expect(errorMeta(open)?.retryAfterMs).toBeGreaterThan(0);
    expect(await metrics(g)).toContain('toolgate_circuit_state{scope="tool",name="p__whoami"} 2');

    // After the open period a probe goes through and closes the breaker.
    let last: Result | undefined;
    await waitFor(
      async () => {
        last = await call(c, 'p__whoami');
        return last.isError !== true;
      },
      10_000,
      'breaker closes',
    );
    expect(text(last)).toBe('remote');
    const m = await metrics(g);
    expect(m).toContain('toolgate_circuit_state{scope="tool",name="p__whoami"} 0');
    expect(m).toContain('toolgate_circuit_transitions_total{scope="tool",name="p__whoami",state="closed"} 1');
  });
});

describe('policies end to end: failover', () => {
  it('serves calls from the fallback upstream while the primary is down, and says so', async () => {
    const g = await gateway(
      `upstreams:` +
        stdio(
          'main',
          `${POLICY_SERVER}, stdio, main`,
          '    restart: { maxAttempts: 0, recoverAfterMs: 0 }\n    policies: { fallback: { upstream: backup } }',
        ) +
        stdio('backup', `${POLICY_SERVER}, stdio, backup`),
    );
    const c = await client(g);
    const first = await call(c, 'main__whoami');
    expect(text(first)).toBe('main');
    expect(first._meta?.['toolgate/fallback']).toBeUndefined();

    const main = g.gateway.upstreams.get('main') as StdioUpstream;
    process.kill(main.pid as number, 'SIGKILL');
    await waitFor(() => main.state === 'down', 10_000, 'primary down');

    const served = await call(c, 'main__whoami');
    expect(served.isError).toBeFalsy();
    expect(text(served)).toBe('backup');
    expect(served._meta?.['toolgate/fallback']).toEqual({ upstream: 'backup', primary: 'main', reason: 'down' });
    expect(await metrics(g)).toContain(
      'toolgate_fallback_calls_total{tool="main__whoami",upstream="backup",reason="down"} 1',
    );
    // The primary's tools stay listed while their fallback serves them.
    await waitFor(async () => (await c.listTools()).tools.some((t) => t.name === 'main__whoami'), 5000, 'listed');
    await g.gateway.upstreams.get('backup')?.close();
    await waitFor(async () => !(await c.listTools()).tools.some((t) => t.name === 'main__whoami'), 5000, 'unlisted');
  });
});

describe('policies end to end: validation and auto-correction', () => {
  const config = `upstreams:${stdio('p', `${POLICY_SERVER}, stdio`)}`;

  it('refuses invalid arguments with each field, what it expects, the allowed values and an example', async () => {
    const g = await gateway(config);
    const c = await client(g);
    const r = await call(c, 'p__search', { mode: 'quick', limit: 500, kind: 'video' });
    expect(r.isError).toBe(true);
    expect(text(r)).toBe(
      [
        'Invalid arguments for tool "p__search" (4 problems):',
        '- query: missing (required, non-empty string).',
        '- mode: must be one of "fast" (quick, approximate), "exact" (slow, precise); got "quick".',
        '- limit: expected integer from 1 to 100; got 500.',
        '- kind: must be one of "doc" (Documents), "img" (Images); got "video".',
        'Example of a valid call: p__search {"mode":"fast","limit":10,"kind":"doc","query":"example"}',
        'Fix the arguments and call the tool again.',
      ].join('\n'),
    );
    const meta = errorMeta(r);
    expect(meta?.code).toBe('TG_INVALID_ARGUMENTS');
    expect(meta?.data?.['example']).toEqual({ mode: 'fast', limit: 10, kind: 'doc', query: 'example' });
    expect(await metrics(g)).toContain('toolgate_validation_failures_total{tool="p__search",kind="input"} 1');
  });

  it('corrects a near-miss enum, forwards the corrected call and reports the corrections', async () => {
    const g = await gateway(config);
    const c = await client(g);
    const r = await call(c, 'p__search', { query: 'x', mode: 'Exact', kind: 'IMG', limit: '5' });
    expect(r.isError).toBeFalsy();
    expect(text(r)).toBe('search {"query":"x","mode":"exact","kind":"img","limit":5}');
    expect(r._meta?.['toolgate/corrections']).toEqual([
      { path: 'mode', from: 'Exact', to: 'exact', rule: 'enum-normalized' },
      { path: 'limit', from: '5', to: 5, rule: 'string-to-number' },
      { path: 'kind', from: 'IMG', to: 'img', rule: 'enum-normalized' },
    ]);
    expect(await metrics(g)).toContain(
      'toolgate_argument_corrections_total{tool="p__search",rule="enum-normalized"} 2',
    );
  });

  it('refuses a tool whose schema has a remote $ref, unless config serves it unvalidated', async () => {
    const g = await gateway(`${config}\ntools:\n  p__search: { validate: { invalidSchema: serve-unvalidated } }\n`);
    const c = await client(g);
    const refused = await call(c, 'p__remote_ref', { a: 1 });
    expect(errorMeta(refused)?.code).toBe('TG_SCHEMA_INVALID');
    expect(text(refused)).toMatch(
      /^The tool "p__remote_ref" cannot be used: its upstream "p" declares an input schema/,
    );
    expect(await metrics(g)).toContain('toolgate_validation_failures_total{tool="p__remote_ref",kind="schema"} 1');

    const g2 = await gateway(
      `${config}\ntools:\n  p__remote_ref: { validate: { invalidSchema: serve-unvalidated } }\n`,
    );
    const c2 = await client(g2);
    expect(text(await call(c2, 'p__remote_ref', { a: 1 }))).toBe('remote_ref served');
  });

  it('replaces structured output that breaks the output schema when told to enforce it', async () => {
    const g = await gateway(`${config}\ndefaults:\n  output: { schema: enforce }\n`);
    const c = await client(g);
    const bad = await call(c, 'p__weather');
    expect(errorMeta(bad)?.code).toBe('TG_OUTPUT_INVALID');
    expect(text(bad)).toContain('temp must be number');
    expect((await call(c, 'p__weather', { good: true })).isError).toBeFalsy();
  });

  it('caps a huge result at 1 MiB with a marker', async () => {
    const g = await gateway(config);
    const c = await client(g);
    const r = await call(c, 'p__huge', { bytes: 3 * 1024 * 1024 });
    const total = r.content.reduce((n, b) => n + Buffer.byteLength(b.text ?? ''), 0);
    expect(total).toBeLessThanOrEqual(1024 * 1024);
    expect(r.content.at(-1)?.text).toMatch(
      /^\[toolgate: output truncated — 2 MB of 3 MB cut \(limit 1 MB, output\.maxBytes\)\./,
    );
    expect(r._meta?.['toolgate/truncated']).toMatchObject({ originalBytes: 3 * 1024 * 1024, limitBytes: 1024 * 1024 });
  });
});

describe('policies end to end: concurrency', () => {
  it('refuses a second call to a one-at-a-time upstream with a retry hint', async () => {
    const g = await gateway(
      `upstreams:${stdio('t', `${TEST_SERVER}, normal`, '    policies: { concurrency: { upstream: { maxConcurrent: 1 } } }')}`,
    );
    const c = await client(g);
    const controller = new AbortController();
    const slow = c
      .callTool({ name: 't__sleep', arguments: { ms: 30_000 } }, { signal: controller.signal })
      .catch((e: unknown) => e);
    await waitFor(
      async () => {
        const r = await call(c, 't__echo', { message: 'x' });
        return errorMeta(r)?.code === 'TG_CONCURRENCY_LIMIT';
      },
      10_000,
      'second call refused',
    );
    const refused = await call(c, 't__echo', { message: 'x' });
    expect(text(refused)).toMatch(
      /^The tool "t__echo" is busy: its upstream "t" is at capacity \(1 call running, limit 1 \(upstreams\.t\.policies\.concurrency\.upstream\)\)\. Try again in /,
    );
    controller.abort();
    await slow;
    await waitFor(
      async () => text(await call(c, 't__echo', { message: 'free' })) === 'echo: free',
      10_000,
      'slot released',
    );
  });
});
