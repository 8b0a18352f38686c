#!/usr/bin/env node
/* global URL, AbortController, performance, setTimeout, clearTimeout */
// Policy overhead benchmark (issue 3 target): local tools called through toolgate with every validation and
// resilience policy on — validate (+ auto-correction, + schema defaults), output schema check, output cap (bytes and
// tokens), retry, circuit breakers per tool and per upstream (consecutive and rate), concurrency limits per tool and
// per upstream, fallback — against the same gateway with all of them off. Target: ≥ 85 % of the baseline.
//
// Usage: npm run build && node bench/policies-overhead.mjs [--seconds 3] [--rounds 5] [--concurrency 8]
// The gateways run as `toolgate serve` processes; load comes from this process (keep-alive, closed loop, modern-era
// stateless requests). Targets alternate (baseline, policies, baseline, …) so drift on the machine hits both alike;
// each ratio is the median of its per-round ratios to the baseline of the same round. Security features are off in
// both gateways, so the ratio isolates this policies.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/toolgate.js');
const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
    control: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(opts.seconds);
const ROUNDS = Number(opts.rounds);
const WARMUP = Number(opts.warmup);
const CONCURRENCY = Number(opts.concurrency);
const TARGET = 0.85;
const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};
const live = new Set();
process.on('exit', () => live.forEach((c) => c.kill('SIGKILL')));

const module = join(ROOT, 'examples/tools/demo-tools.mjs');
const upstreams = `upstreams:\n  demo:\n    kind: local\n    module: ${module}\n  spare:\n    kind: local\n    module: ${module}\n`;
const securityOff = `audit: { enabled: false }\npinning: { enabled: false }\n`;
const configs = {
  baseline: `${securityOff}defaults:
  redact: { mode: "off", screenErrors: false }
  validate: { enabled: false }
  output: { schema: "off", maxBytes: 0 }
  retry: { enabled: false }
  circuitBreaker: { tool: { enabled: false }, upstream: { enabled: false } }
`,
  policies: `${securityOff}defaults:
  redact: { mode: "off", screenErrors: false }
  validate: { autocorrect: fix }
  output: { schema: enforce, maxBytes: 1048576, maxTokens: 200000 }
  retry: { attempts: 3 }
  circuitBreaker:
    tool: { consecutiveFailures: 5, failureRate: 0.5, minimumCalls: 20 }
    upstream: { consecutiveFailures: 10, failureRate: 0.5, minimumCalls: 50 }
  concurrency:
    tool: { maxConcurrent: 64, maxQueue: 256 }
    upstream: { maxConcurrent: 128, maxQueue: 512 }
upstreams:
  demo:
    kind: local
    module: ${module}
    policies: { fallback: { upstream: spare } }
  spare:
    kind: local
    module: ${module}
`,
};

function writeConfig(text) {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-polbench-'));
  const file = join(dir, 'toolgate.yaml');
  writeFileSync(
    file,
    `listen: { port: 0 }\nlog: { level: warn }\n${text.includes('upstreams:') ? text : text + upstreams}`,
  );
  return file;
}

async function serve(file) {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', file, '--log-level', 'info'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  let text = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${text}`)), 20_000);
    child.stderr.on('data', (d) => {
      text += d;
      const m = /"url":"(http:[^"]+)"/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${text}`)));
  });
  return { url, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, 100 Hz clock ticks
  } catch {
    return Number.NaN;
  }
}

/** Closed loop: CONCURRENCY requests in flight over keep-alive connections for SECONDS; returns calls/s. */
async function load(target, tool, args, expect) {
  const cpuBefore = cpuMs(target.pid);
  const r = await loadOnce(target.url, tool, args, expect);
  return { ...r, cpuUsPerCall: ((cpuMs(target.pid) - cpuBefore) * 1000) / Math.max(1, r.total) };
}

async function loadOnce(url, tool, args, expect) {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: CONCURRENCY });
  const request = {
    method: 'POST',
    path: u.pathname,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': tool,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: tool, arguments: args, _meta: META },
    }),
  };
  let counting = false;
  let running = true;
  let ok = 0;
  let bad = 0;
  let total = 0; // every call, warm-up included (CPU is measured over the whole load)
  const loop = async () => {
    while (running) {
      const res = await pool.request(request);
      const text = await res.body.text();
      total++;
      if (res.statusCode !== 200 || !text.includes(expect) || text.includes('"isError":true')) bad++;
      else if (counting) ok++;
    }
  };
  const loops = Array.from({ length: CONCURRENCY }, loop);
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  counting = false;
  const seconds = (performance.now() - t0) / 1000;
  running = false;
  await Promise.all(loops);
  await pool.close();
  return { rps: ok / seconds, bad, total };
}

const baseline = await serve(writeConfig(configs.baseline));
// --control: an A/A run — a second baseline gateway stands in for the policies one, to show the noise band.
const policies = await serve(writeConfig(opts.control ? configs.baseline : configs.policies));
const workloads = [
  { name: 'echo (zod input schema)', tool: 'demo__echo', args: { message: 'hello' }, expect: '"text":"hello"' },
  { name: 'add (JSON Schema input, outputSchema)', tool: 'demo__add', args: { a: 2, b: 3 }, expect: '"sum":5' },
];
console.log(
  `node ${process.version}, ${cpus().length} CPUs, ${CONCURRENCY} concurrent clients, ${ROUNDS} rounds of ${SECONDS}s (after ${WARMUP}s warm-up)`,
);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
let worst = Infinity;
const cpuRatios = [];
const cpuPerCallBaseline = [];
for (const w of workloads) {
  const base = [];
  const pol = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate who goes first, so a drift within a round does not always favour the same side.
    if (round % 2 === 0) {
      base.push(await load(baseline, w.tool, w.args, w.expect));
      pol.push(await load(policies, w.tool, w.args, w.expect));
    } else {
      pol.push(await load(policies, w.tool, w.args, w.expect));
      base.push(await load(baseline, w.tool, w.args, w.expect));
    }
  }
  const ratios = pol.map((r, k) => r.rps / base[k].rps);
  const ratio = median(ratios);
  worst = Math.min(worst, ratio);
  const bad = [...base, ...pol].reduce((a, r) => a + r.bad, 0);
  const cpuBase = median(base.map((r) => r.cpuUsPerCall));
  const cpuPol = median(pol.map((r) => r.cpuUsPerCall));
  cpuRatios.push(cpuBase / cpuPol);
  cpuPerCallBaseline.push(cpuBase);
  console.log(`\n${w.name}`);
  console.log(
    `  baseline (no validation/resilience policies) ${String(Math.round(median(base.map((r) => r.rps)))).padStart(7)} calls/s  ${cpuBase.toFixed(0).padStart(4)} µs CPU/call`,
  );
  console.log(
    `  ${opts.control ? 'control: baseline again (A/A)          ' : 'all policies on                       '}        ${String(Math.round(median(pol.map((r) => r.rps)))).padStart(7)} calls/s  ${cpuPol.toFixed(0).padStart(4)} µs CPU/call  ${(ratio * 100).toFixed(1)} % of baseline (rounds: ${ratios.map((x) => (x * 100).toFixed(0)).join(' / ')})  bad ${bad}`,
  );
}
const cpuWorst = Math.min(...cpuRatios);
console.log(
  `\npolicy overhead ratio (worst workload, policies / baseline): ${worst.toFixed(3)} — target ≥ ${TARGET.toFixed(3)}: ${worst >= TARGET ? 'met' : 'NOT met'}`,
);
console.log(
  `same, from CPU per call (baseline CPU / policies CPU; less sensitive to other load): ${cpuWorst.toFixed(3)}`,
);
baseline.stop();
policies.stop();

// In-process: the same two chains built with buildToolChain around a terminal that answers at once, so the
// figure is the policies' own cost per call, free of HTTP, JSON and other load on the machine.
const { buildToolChain } = await import('../dist/policies/index.js');
const { ResilienceRegistry } = await import('../dist/policies/resilience-registry.js');
const { GatewayMetrics } = await import('../dist/telemetry/metrics.js');
const { createLogger } = await import('../dist/telemetry/logger.js');
const { parse } = await import('yaml');
const logger = createLogger({ level: 'silent' });
const metrics = new GatewayMetrics({ processMetrics: false });
const up = (name) => ({ name, kind: 'local', state: 'up' });
const services = {
  logger,
  metrics,
  upstreams: new Map([
    ['demo', up('demo')],
    ['spare', up('spare')],
  ]),
  resilience: new ResilienceRegistry(logger, metrics),
};
const echoDefinition = {
  name: 'demo__echo',
  inputSchema: {
    type: 'object',
    properties: { message: { type: 'string', maxLength: 10_000 } },
    required: ['message'],
    additionalProperties: false,
  },
  annotations: { readOnlyHint: true, idempotentHint: true },
};
const settingsOf = (text) => {
  const doc = parse(text);
  return { ...doc.defaults, ...(doc.upstreams?.demo?.policies ?? {}) };
};
const addDefinition = {
  name: 'demo__add',
  inputSchema: {
    type: 'object',
    properties: { a: { type: 'number' }, b: { type: 'number' } },
    required: ['a', 'b'],
    additionalProperties: false,
  },
  outputSchema: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] },
  annotations: { readOnlyHint: true, idempotentHint: true },
};
const controller = new AbortController();
const principal = { subject: 'bench', scopes: [], claims: {}, authMethod: 'anonymous' };
const inProcess = [
  {
    name: 'echo',
    definition: echoDefinition,
    args: { message: 'hello' },
    answer: { content: [{ type: 'text', text: 'hello' }] },
  },
  {
    name: 'add',
    definition: addDefinition,
    args: { a: 2, b: 3 },
    answer: { content: [{ type: 'text', text: '{"sum":5}' }], structuredContent: { sum: 5 } },
  },
];
console.log('');
for (const [i, w] of inProcess.entries()) {
  const chainOf = (text) =>
    buildToolChain(
      {
        toolName: w.definition.name,
        upstreamName: 'demo',
        definition: w.definition,
        settings: settingsOf(text),
        sources: {},
        services,
      },
      undefined,
      async () => w.answer,
    );
  const entry = { name: w.definition.name };
  const target = { upstream: services.upstreams.get('demo'), toolName: w.name };
  const makeCall = () => ({
    entry,
    target,
    arguments: w.args,
    principal,
    correlationId: 'bench',
    signal: controller.signal,
    abort: () => {},
    meta: undefined,
    log: logger,
    startedAt: performance.now(),
  });
  const perCallUs = async (chain, n) => {
    const t0 = performance.now();
    for (let k = 0; k < n; k++) await chain(makeCall());
    return ((performance.now() - t0) * 1000) / n;
  };
  const chainBase = chainOf(configs.baseline);
  const chainAll = chainOf(configs.policies);
  const deltas = [];
  for (let round = 0; round < ROUNDS; round++) {
    const b = await perCallUs(chainBase, 100_000);
    const p = await perCallUs(chainAll, 100_000);
    deltas.push(p - b);
  }
  const delta = median(deltas);
  const gatewayCpu = cpuPerCallBaseline[i];
  console.log(
    `chain only, in process (${w.name}): the policies add ${delta.toFixed(2)} µs per call (rounds: ${deltas.map((d) => d.toFixed(2)).join(' / ')}); against the baseline gateway's ${gatewayCpu.toFixed(0)} µs CPU per call, expected ratio ${(gatewayCpu / (gatewayCpu + delta)).toFixed(3)}`,
  );
}
process.exit(0);
