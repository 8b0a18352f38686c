import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { EVERYTHING_SERVER, TEST_SERVER } from '../helpers/paths.js';
import { descendants, waitFor } from '../helpers/processes.js';
import { startEverythingHttp, type HttpUpstreamProcess } from '../helpers/upstreams.js';

let everythingHttp: HttpUpstreamProcess;
let gw: TestGateway;

beforeAll(async () => {
  everythingHttp = await startEverythingHttp();
  gw = await startGateway(`
upstreams:
  ev:
    kind: stdio
    command: ${process.execPath}
    args: [${EVERYTHING_SERVER}, stdio]
  evh:
    kind: http
    url: ${everythingHttp.url}
  demo:
    kind: local
    module: examples/tools/demo-tools.mjs
  t:
    kind: stdio
    command: ${process.execPath}
    args: [${TEST_SERVER}]
notifications:
  debounceMs: 20
`);
});

afterAll(async () => {
  await gw?.stop();
  await everythingHttp?.stop();
  // Every child the gateway spawned is gone (server-everything over HTTP was ours, stopped above).
  await waitFor(() => descendants(process.pid).length === 0, 5000, 'no child processes left');
});

/** A client of one era, with the calls the tests need expressed the same way for both SDK lines. */
interface EraClient {
  era: string;
  listToolNames(): Promise<string[]>;
  call(
    name: string,
    args: Record<string, unknown>,
    opts?: { onprogress?: () => void; signal?: AbortSignal },
  ): Promise<{ content: { type: string; text?: string }[]; isError?: boolean; structuredContent?: unknown }>;
  raw: V1Client | V2Client;
  close(): Promise<void>;
}

async function legacyClient(): Promise<EraClient> {
  const client = new V1Client({ name: 'legacy-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
  const transport = new V1Transport(new URL(gw.url));
  await client.connect(transport);
  return {
    era: 'legacy',
    raw: client,
    listToolNames: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async (name, args, opts = {}) =>
      (await client.callTool({ name, arguments: args }, undefined, {
        ...(opts.onprogress ? { onprogress: opts.onprogress } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      })) as never,
    close: async () => {
      await transport.terminateSession();
      await client.close();
    },
  };
}

async function modernClient(): Promise<EraClient> {
  const client = new V2Client({ name: 'modern-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new V2Transport(new URL(gw.url)));
  expect(client.getProtocolEra()).toBe('modern');
  return {
    era: 'modern',
    raw: client,
    listToolNames: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async (name, args, opts = {}) =>
      (await client.callTool(
        { name, arguments: args },
        {
          ...(opts.onprogress ? { onprogress: opts.onprogress } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
      )) as never,
    close: () => client.close(),
  };
}

describe.each([
  ['legacy (SDK v1 client, 2025-11-25)', legacyClient],
  ['modern (SDK v2 client, 2026-07-28)', modernClient],
])('%s', (_label, connect) => {
  let c: EraClient;
  beforeAll(async () => {
    c = await connect();
  });
  afterAll(async () => {
    await c?.close();
  });

  it('lists the tools of every upstream under namespaced names, sorted', async () => {
    const names = await c.listToolNames();
    expect(names).toContain('ev__echo');
    expect(names).toContain('evh__echo');
    expect(names).toContain('demo__add');
    expect(names).toContain('t__sleep');
    expect(names).toEqual([...names].sort());
    expect(await c.listToolNames()).toEqual(names);
  });

  it('calls tools on a stdio upstream, an HTTP upstream and an in-process tool set', async () => {
    expect((await c.call('ev__echo', { message: 'via stdio' })).content[0]?.text).toBe('Echo: via stdio');
    expect((await c.call('evh__echo', { message: 'via http' })).content[0]?.text).toBe('Echo: via http');
    const sum = await c.call('demo__add', { a: 20, b: 22 });
    expect(sum.structuredContent).toEqual({ sum: 42 });
  });

  it('relays progress notifications from upstreams', async () => {
    let local = 0;
    const r = await c.call('demo__count_slowly', { n: 3, delayMs: 20 }, { onprogress: () => local++ });
    expect(r.content[0]?.text).toBe('Counted to 3.');
    expect(local).toBeGreaterThanOrEqual(1);
    let remote = 0;
    await c.call('t__progress', { steps: 3 }, { onprogress: () => remote++ });
    expect(remote).toBeGreaterThanOrEqual(1);
  });

  it('answers an unknown tool with a JSON-RPC error, not a result', async () => {
    await expect(c.call('nope__missing', {})).rejects.toMatchObject({ code: -32602 });
  });

  it('cancels the upstream call when the client cancels', async () => {
    const before = Number((await c.call('t__cancellations', {})).content[0]?.text);
    const ac = new AbortController();
    const pending = c.call('t__sleep', { ms: 20_000 }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    await expect(pending).rejects.toBeDefined();
    await waitFor(
      async () => Number((await c.call('t__cancellations', {})).content[0]?.text) > before,
      5000,
      'upstream cancellation',
    );
  });

  it('aggregates prompts and resources', async () => {
    const client = c.raw as V2Client;
    const prompts = await client.listPrompts();
    expect(prompts.prompts.map((p) => p.name)).toContain('ev__simple-prompt');
    const got = await client.getPrompt({ name: 'ev__args-prompt', arguments: { city: 'Lisbon' } });
    expect(JSON.stringify(got.messages)).toContain('Lisbon');
    const resources = await client.listResources();
    expect(resources.resources.length).toBeGreaterThan(0);
    const first = resources.resources[0] as { uri: string };
    const read = await client.readResource({ uri: first.uri });
    expect(read.contents[0]?.uri).toBe(first.uri);
  });
});

describe('legacy-only relays', () => {
  it('relays a sampling request from the upstream to the client that made the call', async () => {
    const client = new V1Client({ name: 'sampler', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      model: 'test-model',
      role: 'assistant' as const,
      content: { type: 'text' as const, text: `echo of ${JSON.stringify(req.params.messages[0]?.content)}` },
    }));
    const transport = new V1Transport(new URL(gw.url));
    await client.connect(transport);
    const r = await client.callTool({ name: 't__sample', arguments: { prompt: 'ping' } });
    expect((r.content as { text: string }[])[0]?.text).toContain('sampled: echo of');
    expect((r.content as { text: string }[])[0]?.text).toContain('ping');
    await transport.terminateSession();
    await client.close();
  });

  it('relays upstream log messages during a call', async () => {
    const client = new V1Client({ name: 'logs', version: '1.0.0' });
    const messages: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => void messages.push(n.params));
    const transport = new V1Transport(new URL(gw.url));
    await client.connect(transport);
    await client.callTool({ name: 't__log', arguments: { level: 'warning' } });
    expect(messages).toContainEqual(expect.objectContaining({ level: 'warning', data: 'hello from the test server' }));
    await transport.terminateSession();
    await client.close();
  });
});

describe('list_changed', () => {
  it('reaches clients of both eras when an upstream adds a tool', async () => {
    const legacy = new V1Client({ name: 'watch-legacy', version: '1.0.0' });
    let legacyNotified = 0;
    legacy.setNotificationHandler(ToolListChangedNotificationSchema, async () => void legacyNotified++);
    const lt = new V1Transport(new URL(gw.url));
    await legacy.connect(lt);
    const modern = new V2Client({ name: 'watch-modern', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    let modernNotified = 0;
    modern.setNotificationHandler('notifications/tools/list_changed', async () => void modernNotified++);
    await modern.connect(new V2Transport(new URL(gw.url)));
    const sub = await modern.listen({ toolsListChanged: true });
    expect(sub.honoredFilter).toMatchObject({ toolsListChanged: true });
    // the legacy client's GET stream opens asynchronously after initialize
    await new Promise((r) => setTimeout(r, 300));

    await modern.callTool({ name: 't__add_tool', arguments: { name: 'late_tool' } });
    await waitFor(() => legacyNotified > 0 && modernNotified > 0, 10_000, 'list_changed on both eras');
    expect((await modern.listTools()).tools.map((t) => t.name)).toContain('t__late_tool');
    expect((await legacy.listTools()).tools.map((t) => t.name)).toContain('t__late_tool');

    await sub.close();
    await modern.close();
    await lt.terminateSession();
    await legacy.close();
  });
});
