#!/usr/bin/env node
// Gateway throughput benchmark (issue 2 targets), measured in one run on one machine:
//
//   A. calls to an in-process (local) tool through toolgate, each era, vs a raw node:http JSON-RPC server
//      (reference) — target ≥ 40 % of raw;
//   B. calls through toolgate in front of a stdio echo server vs a direct stdio client of that same server
//      — target ≥ 95 % of direct.
//   (informational) the SDK v2 createMcpHandler with an McpServer per request.
//
// Usage: npm run build && node bench/gateway-throughput.mjs [--seconds 5] [--concurrency 8] [--only a|b]
//        [--config FILE]  measure a custom gateway config instead of bench/configs/core.yaml (A only)
// Each target runs in its own process; the load generator runs here (keep-alive, fixed concurrency, closed loop).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { JsonRpcPeer } from '../dist/jsonrpc/peer.js';
import { readLines } from '../dist/jsonrpc/line-reader.js';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { cpuMs, median } from './lib/gateway-load.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1.5' },
    concurrency: { type: 'string', default: '8' },
    only: { type: 'string' },
    config: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(opts.seconds);
const WARMUP = Number(opts.warmup);
const CONCURRENCY = Number(opts.concurrency);
const ROUNDS = Number(opts.rounds);
const MODERN = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Spawns a target process and waits for the line announcing where it listens. */
async function startProcess(args, readyPattern, env = {}) {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.add(child);
  let out = '';
  const ready = new Promise((resolve, reject) => {
    const onData = (d) => {
      out += d.toString();
      const m = readyPattern.exec(out);
      if (m) resolve(m);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`target exited (${code}): ${out.slice(-2000)}`)));
  });
  const match = await Promise.race([
    ready,
    new Promise((_, r) => setTimeout(() => r(new Error(`target not ready: ${out}`)), 20_000)),
  ]);
  return {
    child,
    match,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
      child.kill('SIGKILL');
      children.delete(child);
    },
  };
}

/**
 * Runs CONCURRENCY closed-loop workers (`call(w)` resolves true for a good answer) for WARMUP then SECONDS seconds;
 * returns good answers per measured second, bad answers, and the measured count.
 */
async function closedLoopRun(call) {
  let done = 0;
  let errors = 0;
  let measuring = false;
  let stop = false;
  const worker = async (w) => {
    while (!stop) {
      try {
        if (!(await call(w))) errors++;
        else if (measuring) done++;
      } catch {
        errors++;
      }
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, (_, w) => worker(w));
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(workers);
  return { rps: done / elapsed, errors, done };
}

/** Closed-loop HTTP load: CONCURRENCY workers over keep-alive connections, each sends the next request on answer. */
async function httpLoad(url, makeRequest, check) {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 60_000 });
  const requests = await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => makeRequest(pool, u, w)));
  const r = await closedLoopRun(async (w) => {
    const res = await pool.request(requests[w]);
    const text = await res.body.text();
    return res.statusCode === 200 && check(text);
  });
  await pool.close();
  return r;
}

const body = (id, method, params) => JSON.stringify({ jsonrpc: '2.0', id, method, params });

/** A modern (2026-07-28) stateless tools/call. */
function modernCall(tool, args) {
  return async (_pool, u) => ({
    method: 'POST',
    path: u.pathname,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': tool,
    },
    body: body(1, 'tools/call', { _meta: META, name: tool, arguments: args }),
  });
}

/** A legacy (2025-11-25) tools/call in a session of its own per worker. */
function legacyCall(tool, args) {
  return async (pool, u) => {
    const init = await pool.request({
      method: 'POST',
      path: u.pathname,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: body(0, 'initialize', {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      }),
    });
    await init.body.text();
    const sid = init.headers['mcp-session-id'];
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sid,
      'mcp-protocol-version': '2025-11-25',
    };
    await (
      await pool.request({
        method: 'POST',
        path: u.pathname,
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      })
    ).body.text();
    return { method: 'POST', path: u.pathname, headers, body: body(1, 'tools/call', { name: tool, arguments: args }) };
  };
}

/** A stdio server driven directly, as a direct stdio client would: one connection, requests multiplexed on it. */
async function startStdio(command, args) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  children.add(child);
  const peer = new JsonRpcPeer({ send: (m) => child.stdin.write(JSON.stringify(m) + '\n') });
  readLines(child.stdout, (l) => peer.receiveLine(l));
  await peer.request('initialize', {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'bench', version: '1' },
  });
  peer.notify('notifications/initialized');
  return {
    pid: child.pid,
    load: () => stdioLoad(peer),
    stop: async () => {
      child.stdin.end();
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
      children.delete(child);
    },
  };
}

/** Closed-loop stdio load: CONCURRENCY requests in flight on the one connection. */
function stdioLoad(peer) {
  return closedLoopRun(async () => {
    const r = await peer.request('tools/call', { name: 'echo', arguments: { text: 'hello' } });
    return Array.isArray(r.content);
  });
}

/** bench/configs/core.yaml (issues 3 and 4 policy sets off) with other upstreams: the core gateway of B. */
function coreConfig(upstreams) {
  const core = parseYaml(readFileSync(join(ROOT, 'bench/configs/core.yaml'), 'utf8'));
  return gatewayConfig(upstreams, stringifyYaml({ ...core, listen: undefined, log: undefined, upstreams: undefined }));
}

function gatewayConfig(upstreams, extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-bench-'));
  const file = join(dir, 'toolgate.yaml');
  writeFileSync(file, `listen:\n  port: 0\nlog:\n  level: warn\nupstreams:\n${upstreams}${extra}`);
  return file;
}

async function startGateway(configFile) {
  const g = await startProcess(
    [join(ROOT, 'bin/toolgate.js'), 'serve', '--config', configFile, '--log-level', 'info'],
    /"url":"(http:[^"]+)"/,
  );
  return { url: g.match[1], pid: g.child.pid, stop: g.stop };
}

/** Runs `load` while measuring the CPU the target's process tree spends per completed call. */
async function measured(pid, load) {
  const before = cpuMs(pid, { tree: true });
  const r = await load();
  const cpu = cpuMs(pid, { tree: true }) - before;
  return { ...r, cpuUsPerCall: r.done > 0 ? (cpu * 1000) / r.done : NaN };
}

/**
 * Alternates reference and candidates for ROUNDS rounds (ref, c1, c2, ref, c1, c2, …): a burst of load from
 * elsewhere on the machine then hits all of them alike; each candidate's ratio is the median of its per-round ratios.
 */
async function compare(label, reference, candidates) {
  const rows = [{ name: reference.name, runs: [] }, ...candidates.map((c) => ({ name: c.name, runs: [], ratios: [] }))];
  for (let round = 0; round < ROUNDS; round++) {
    const ref = await measured(reference.pid, reference.load);
    rows[0].runs.push(ref);
    for (const [i, c] of candidates.entries()) {
      const r = await measured(c.pid, c.load);
      rows[i + 1].runs.push(r);
      rows[i + 1].ratios.push(r.rps / ref.rps);
    }
  }
  console.log(`\n${label}`);
  for (const row of rows) {
    const rps = median(row.runs.map((r) => r.rps));
    const cpu = median(row.runs.map((r) => r.cpuUsPerCall));
    const errors = row.runs.reduce((a, r) => a + r.errors, 0);
    const ratio = row.ratios ? median(row.ratios) : undefined;
    results.push({
      name: row.name,
      rps: Math.round(rps),
      cpuUsPerCall: Math.round(cpu),
      errors,
      ratio: ratio === undefined ? undefined : Number(ratio.toFixed(3)),
      perRound: row.ratios?.map((x) => Number(x.toFixed(3))),
    });
    const pct =
      ratio === undefined
        ? '   (reference)'
        : `   ${(ratio * 100).toFixed(1)} % of reference (rounds: ${row.ratios.map((x) => (x * 100).toFixed(0)).join(' / ')})`;
    console.log(
      `  ${row.name.padEnd(50)} ${String(Math.round(rps)).padStart(7)} req/s  ${String(Math.round(cpu)).padStart(5)} µs CPU/call  errors ${errors}${pct}`,
    );
  }
}

const results = [];
const echoCheck = (text) => text.includes('"result"');
const { cpus } = await import('node:os');
console.log(
  `node ${process.version}, ${cpus().length} CPUs, ${CONCURRENCY} concurrent clients, ${ROUNDS} rounds of ${SECONDS}s (after ${WARMUP}s warm-up) per target`,
);

if (opts.only === undefined || opts.only === 'a') {
  const raw = await startProcess([join(ROOT, 'bench/servers/raw-http-echo.mjs')], /listening on (\d+)/);
  const sdk = await startProcess([join(ROOT, 'bench/servers/sdk-v2-echo.mjs')], /listening on (\d+)/);
  // Issue 2's target is about the gateway core (bench/configs/core.yaml: every optional policy off); the same
  // gateway with its shipped defaults (validation, redaction, audit in memory, pinning, …) is measured alongside.
  const core = await startGateway(opts.config ?? join(ROOT, 'bench/configs/core.yaml'));
  const defaults = await startGateway(
    gatewayConfig(
      `  demo:\n    kind: local\n    module: ${join(ROOT, 'examples/tools/demo-tools.mjs')}\nstore:\n  kind: memory\n`,
    ),
  );
  const through = (label, gw) => [
    {
      name: `toolgate ${label} → local tool, modern client`,
      pid: gw.pid,
      load: () => httpLoad(gw.url, modernCall('demo__echo', { message: 'hello' }), echoCheck),
    },
    {
      name: `toolgate ${label} → local tool, legacy client`,
      pid: gw.pid,
      load: () => httpLoad(gw.url, legacyCall('demo__echo', { message: 'hello' }), echoCheck),
    },
  ];
  await compare(
    'A. local tool through toolgate vs a raw node:http JSON-RPC server (target ≥ 40 % for the core)',
    {
      name: 'raw node:http JSON-RPC echo',
      pid: raw.child.pid,
      load: () => httpLoad(`http://127.0.0.1:${raw.match[1]}/mcp`, modernCall('echo', { message: 'hello' }), echoCheck),
    },
    [
      ...through('core', core),
      ...through('defaults', defaults),
      {
        name: 'SDK v2 createMcpHandler (informational)',
        pid: sdk.child.pid,
        load: () =>
          httpLoad(`http://127.0.0.1:${sdk.match[1]}/mcp`, modernCall('echo', { message: 'hello' }), echoCheck),
      },
    ],
  );
  await Promise.all([raw.stop(), sdk.stop(), core.stop(), defaults.stop()]);
}

if (opts.only === undefined || opts.only === 'b') {
  for (const [label, server, serverArgs] of [
    [
      'B. toolgate in front of an SDK stdio server doing 1 ms of work per call (target ≥ 95 % of a direct stdio client)',
      join(ROOT, 'bench/servers/sdk-stdio-echo.mjs'),
      ['--work-ms', '1'],
    ],
    [
      'B\u2032. same server, no work per call (informational: the extra HTTP hop, not the server, is the limit)',
      join(ROOT, 'bench/servers/sdk-stdio-echo.mjs'),
      [],
    ],
  ]) {
    const direct = await startStdio(process.execPath, [server, ...serverArgs]);
    const upstream = `  echo:\n    kind: stdio\n    command: ${process.execPath}\n    args: [${[server, ...serverArgs].map((a) => JSON.stringify(a)).join(', ')}]\n`;
    // The core (target) and the shipped defaults (informational), as in A.
    const core = await startGateway(coreConfig(upstream));
    const defaults = await startGateway(gatewayConfig(upstream + 'store:\n  kind: memory\n'));
    await compare(label, { name: 'direct stdio client', pid: direct.pid, load: direct.load }, [
      {
        name: 'toolgate core → stdio, modern HTTP client',
        pid: core.pid,
        load: () => httpLoad(core.url, modernCall('echo__echo', { text: 'hello' }), echoCheck),
      },
      {
        name: 'toolgate core → stdio, legacy HTTP client',
        pid: core.pid,
        load: () => httpLoad(core.url, legacyCall('echo__echo', { text: 'hello' }), echoCheck),
      },
      {
        name: 'toolgate defaults → stdio, modern HTTP client',
        pid: defaults.pid,
        load: () => httpLoad(defaults.url, modernCall('echo__echo', { text: 'hello' }), echoCheck),
      },
    ]);
    await Promise.all([direct.stop(), core.stop(), defaults.stop()]);
  }
}

if (opts.json) console.log(JSON.stringify(results));
process.exit(0);
