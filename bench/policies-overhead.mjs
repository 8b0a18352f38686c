#!/usr/bin/env node
/* global URL, AbortController, performance */
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
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { closedLoop, median, serveGateway } from './lib/gateway-load.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
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

const baseline = await serveGateway(writeConfig(configs.baseline));
// --control: an A/A run — a second baseline gateway stands in for the policies one, to show the noise band.
const policies = await serveGateway(writeConfig(opts.control ? configs.baseline : configs.policies));
const workloads = [
  { name: 'echo (zod input schema)', tool: 'demo__echo', args: { message: 'hello' }, expect: '"text":"hello"' },
  { name: 'add (JSON Schema input, outputSchema)', tool: 'demo__add', args: { a: 2, b: 3 }, expect: '"sum":5' },
];
console.log(
  `node ${process.version}, ${cpus().length} CPUs, ${CONCURRENCY} concurrent clients, ${ROUNDS} rounds of ${SECONDS}s (after ${WARMUP}s warm-up)`,
);
const loadOptions = { concurrency: CONCURRENCY, seconds: SECONDS, warmup: WARMUP };
let worst = Infinity;
const cpuRatios = [];
const cpuPerCallBaseline = [];
for (const w of workloads) {
  const base = [];
  const pol = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate who goes first, so a drift within a round does not always favour the same side.
    if (round % 2 === 0) {
      base.push(await closedLoop(baseline, { ...w, ...loadOptions }));
      pol.push(await closedLoop(policies, { ...w, ...loadOptions }));
    } else {
      pol.push(await closedLoop(policies, { ...w, ...loadOptions }));
      base.push(await closedLoop(baseline, { ...w, ...loadOptions }));
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
