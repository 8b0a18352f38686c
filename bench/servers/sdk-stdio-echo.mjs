#!/usr/bin/env node
// A typical MCP server: the official SDK v2 McpServer with one `echo` tool, over stdio.
// --work-ms N makes each call spend N ms of CPU first (a stand-in for the parsing, hashing or querying a real
// tool does), so that the server — not the transport — bounds throughput, as it does in production.
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

const i = process.argv.indexOf('--work-ms');
const workMs = i === -1 ? 0 : Number(process.argv[i + 1]);

function work() {
  if (workMs <= 0) return 0;
  const end = performance.now() + workMs;
  let x = 0;
  while (performance.now() < end) x = (x * 31 + 7) % 1_000_003;
  return x;
}

serveStdio(() => {
  const server = new McpServer({ name: 'sdk-stdio-echo', version: '1.0.0' });
  server.registerTool(
    'echo',
    {
      description: 'Returns its text argument unchanged.',
      inputSchema: z.object({ text: z.string() }),
      annotations: { readOnlyHint: true },
    },
    async ({ text }) => {
      work();
      return { content: [{ type: 'text', text }] };
    },
  );
  return server;
});
