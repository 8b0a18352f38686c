#!/usr/bin/env node
// A minimal dual-era MCP stdio server with one tool, `echo`, written directly on JSON-RPC (no SDK) so that its
// own cost per call is tiny: in a gateway comparison the gateway's overhead, not the server's, should show.
//
// It can also misbehave on purpose, deterministically, to test a load tool's accounting. Calls to `echo` are
// numbered 1, 2, 3, … in arrival order; for call n the first matching rule wins:
//   --hang-every K         n % K == 0: never answer (the client must time out)
//   --rpc-error-every K    n % K == 0: JSON-RPC error -32603 "injected failure"
//   --tool-error-every K   n % K == 0: result with isError: true
//   --bad-shape-every K    n % K == 0: result without `content` (fails a shape check)
//   --stray-every K        n % K == 0: answer normally, then also send a response to an id never asked for
// Other options: --delay-ms N (answer after N ms), --exit-after N (exit with code 1 on call N, unanswered),
// --era dual|legacy|modern (default dual).
import { createInterface } from 'node:readline';
import { setTimeout } from 'node:timers';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const every = (name) => Number(opt(name, 0));
const rules = {
  hang: every('hang-every'),
  rpcError: every('rpc-error-every'),
  toolError: every('tool-error-every'),
  badShape: every('bad-shape-every'),
  stray: every('stray-every'),
};
const delayMs = Number(opt('delay-ms', 0));
const exitAfter = Number(opt('exit-after', 0));
const era = opt('era', 'dual');

const MODERN = '2026-07-28';
const LEGACY = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
const SERVER_INFO = { name: 'toolgate-bench-echo', version: '1.0.0' };
const ECHO_TOOL = {
  name: 'echo',
  description: 'Returns its text argument unchanged.',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, additionalProperties: false },
  annotations: { readOnlyHint: true },
};

let calls = 0;
const write = (message) => process.stdout.write(JSON.stringify(message) + '\n');
const answer = (id, result) => {
  if (delayMs > 0) setTimeout(() => write({ jsonrpc: '2.0', id, result }), delayMs);
  else write({ jsonrpc: '2.0', id, result });
};
const fail = (id, code, message, data) =>
  write({ jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } });
const hits = (k, n) => k > 0 && n % k === 0;

function isModern(params) {
  return params?._meta?.['io.modelcontextprotocol/protocolVersion'] !== undefined;
}

function callEcho(id, params, modern) {
  const n = ++calls;
  if (exitAfter > 0 && n >= exitAfter) process.exit(1);
  const text = typeof params?.arguments?.text === 'string' ? params.arguments.text : '';
  const extra = modern ? { resultType: 'complete' } : {};
  if (hits(rules.hang, n)) return;
  if (hits(rules.rpcError, n)) return fail(id, -32603, 'injected failure');
  if (hits(rules.toolError, n))
    return answer(id, { ...extra, content: [{ type: 'text', text: 'injected tool error' }], isError: true });
  if (hits(rules.badShape, n)) return answer(id, { ...extra, oops: true });
  answer(id, { ...extra, content: [{ type: 'text', text }] });
  if (hits(rules.stray, n)) write({ jsonrpc: '2.0', id: `stray-${n}`, result: { content: [] } });
}

function handle(msg) {
  const { id, method, params } = msg;
  if (id === undefined || typeof method !== 'string') return; // notifications and responses need no answer
  const modern = isModern(params);
  switch (method) {
    case 'server/discover':
      if (era === 'legacy') return fail(id, -32601, 'Method not found');
      return answer(id, {
        resultType: 'complete',
        supportedVersions: [MODERN],
        capabilities: { tools: {} },
        _meta: { 'io.modelcontextprotocol/serverInfo': SERVER_INFO },
        ttlMs: 0,
        cacheScope: 'public',
      });
    case 'initialize': {
      if (era === 'modern')
        return fail(id, -32022, `Unsupported protocol version; supported: ${MODERN}`, {
          supported: [MODERN],
          requested: params?.protocolVersion,
        });
      const requested = params?.protocolVersion;
      const protocolVersion = LEGACY.includes(requested) ? requested : LEGACY[0];
      return answer(id, { protocolVersion, capabilities: { tools: {} }, serverInfo: SERVER_INFO });
    }
    case 'ping':
      return answer(id, {});
    case 'tools/list':
      return answer(
        id,
        modern
          ? { resultType: 'complete', tools: [ECHO_TOOL], ttlMs: 0, cacheScope: 'public' }
          : { tools: [ECHO_TOOL] },
      );
    case 'tools/call':
      if (params?.name !== 'echo') return fail(id, -32602, `Unknown tool: ${String(params?.name)}`);
      return callEcho(id, params, modern);
    default:
      return fail(id, -32601, `Method not found: ${method}`);
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return fail(null, -32700, 'Parse error');
  }
  handle(msg);
});
lines.on('close', () => process.exit(0));
