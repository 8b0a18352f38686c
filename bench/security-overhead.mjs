#!/usr/bin/env node
/* global URL, performance */
// Security overhead benchmark (issue 4 target): a local tool called through toolgate with every security feature
// on — authentication (API key, or a bearer JWT verified against a local JWKS), an authorization rule, three rate
// limit buckets, redaction of the result, audit, tool pinning — against the same gateway with all of them off.
// Target: the secured gateway keeps ≥ 80 % of the baseline's throughput.
//
// Usage: npm run build && node bench/security-overhead.mjs [--seconds 3] [--rounds 7] [--concurrency 8] [--variants]
//   [--callgrind]
// --variants adds the same secured gateway with SQLite in a worker thread, and with audit to the memory store.
// --callgrind also counts instructions per call under valgrind (repeatable within ~1 %; about six more minutes).
// The gateways run as `toolgate serve` processes; load comes from this process (bench/lib/gateway-load.mjs:
// keep-alive, closed loop, modern-era stateless calls). Targets alternate, and who goes first rotates every round,
// so drift on the machine hits all alike; each ratio is the median of per-round ratios to the baseline. The CPU
// per call is the gateway process's (all threads: the SQLite store runs in a worker). Last, the same costs are
// measured in process — authentication, the security policies of the chain, the audit write per record — which
// do not move with other load on the machine.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { callgrindAvailable, instructionsPerCall } from './lib/callgrind.mjs';
import { closedLoop, median, serveGateway } from './lib/gateway-load.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
    variants: { type: 'boolean', default: false },
    callgrind: { type: 'boolean', default: false },
  },
});
const TARGET = 0.8;
const RESOURCE = 'https://bench.toolgate.test/mcp';
const ISSUER = 'https://idp.bench.test';
const load = { concurrency: Number(opts.concurrency), seconds: Number(opts.seconds), warmup: Number(opts.warmup) };
const call = { tool: 'demo__echo', args: { message: 'hello' }, expect: '"text":"hello"' };

// A local issuer: RS256 key, JWKS on 127.0.0.1.
const { publicKey, privateKey } = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
await new Promise((r) => jwks.listen(0, '127.0.0.1', r));
const jwt = await new SignJWT({ scope: 'tools:call' })
  .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
  .setIssuer(ISSUER)
  .setAudience(RESOURCE)
  .setSubject('bench-user')
  .setExpirationTime('1h')
  .sign(privateKey);

const securedYaml = `auth:
  resource: ${RESOURCE}
  bearer: { issuer: ${ISSUER}, jwksUri: "http://127.0.0.1:${jwks.address().port}/jwks" }
  apiKeys: {}
authorization:
  rules:
    - tools: ["demo__*"]
      when: { scopes: ["tools:call"] }
rateLimits: { perPrincipal: 100000000/s }
tools:
  demo__echo: { rateLimit: { perCaller: 100000000/s, perTool: 100000000/s } }
`;
const configs = {
  baseline: `audit: { enabled: false }\npinning: { enabled: false }\ntools:\n  "*": { redact: { mode: "off", screenErrors: false } }\n`,
  secured: securedYaml,
  securedMemory: `${securedYaml}store: { kind: memory }\n`,
  securedWorker: `${securedYaml}store: { worker: true }\n`,
};

function writeConfig(extra) {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-secbench-'));
  const file = join(dir, 'toolgate.yaml');
  const demo = join(ROOT, 'examples/tools/demo-tools.mjs');
  writeFileSync(
    file,
    `listen: { port: 0 }\nlog: { level: warn }\n${extra}upstreams:\n  demo: { kind: local, module: ${demo} }\n`,
  );
  return file;
}

const securedFile = writeConfig(configs.secured);
const workerFile = writeConfig(configs.securedWorker);
const apiKey = execFileSync(
  process.execPath,
  [
    join(ROOT, 'bin/toolgate.js'),
    'keys',
    'create',
    '--name',
    'bench',
    '--scopes',
    'tools:call',
    '--config',
    securedFile,
  ],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
).trim();
// Which gateway process each target uses; `--variants` adds the two store variants (informational).
const files = {
  baseline: writeConfig(configs.baseline),
  secured: securedFile,
  ...(opts.variants ? { securedWorker: workerFile, securedMemory: writeConfig(configs.securedMemory) } : {}),
};
const targets = [
  { name: 'baseline: no auth, rules, limits, redaction, audit, pinning', gw: 'baseline', headers: {} },
  {
    name: 'secured: API key, rule, 3 buckets, redaction, SQLite audit, pins',
    gw: 'secured',
    headers: { 'x-api-key': apiKey },
  },
  { name: 'secured: bearer JWT, same policies', gw: 'secured', headers: { authorization: `Bearer ${jwt}` } },
  ...(opts.variants
    ? [
        {
          name: 'secured: bearer JWT, SQLite in a worker thread (store.worker: true)',
          gw: 'securedWorker',
          headers: { authorization: `Bearer ${jwt}` },
        },
        {
          name: 'secured: bearer JWT, audit to the memory store',
          gw: 'securedMemory',
          headers: { authorization: `Bearer ${jwt}` },
        },
      ]
    : []),
];
console.log(
  `node ${process.version}, ${cpus().length} CPUs, ${load.concurrency} concurrent clients, ${opts.rounds} rounds of ${load.seconds}s (after ${load.warmup}s warm-up) per target, fresh gateway processes every round`,
);
const runs = targets.map(() => []);
for (let round = 0; round < Number(opts.rounds); round++) {
  // New processes each round: how V8 happens to optimise one process is part of the noise, and rounds average it.
  const gws = {};
  for (const [name, file] of Object.entries(files)) gws[name] = await serveGateway(file);
  for (let k = 0; k < targets.length; k++) {
    const i = (k + round) % targets.length;
    const t = targets[i];
    runs[i].push(await closedLoop(gws[t.gw], { ...call, ...load, headers: t.headers }));
  }
  await Promise.all(Object.values(gws).map((g) => g.stop()));
}
const ratiosOf = (i) => runs[i].map((r, k) => r.rps / runs[0][k].rps);
const cpuOf = (i) => median(runs[i].map((r) => r.cpuUsPerCall));
for (const [i, t] of targets.entries()) {
  const rps = median(runs[i].map((r) => r.rps));
  const bad = runs[i].reduce((a, r) => a + r.bad, 0);
  const ratios = ratiosOf(i);
  const ratio =
    i === 0
      ? '(reference)'
      : `${(median(ratios) * 100).toFixed(1)} % of baseline (rounds: ${ratios.map((x) => (x * 100).toFixed(0)).join(' / ')})`;
  console.log(
    `  ${t.name.padEnd(66)} ${String(Math.round(rps)).padStart(6)} calls/s ${cpuOf(i).toFixed(0).padStart(4)} µs CPU/call  bad ${bad}  ${ratio}`,
  );
}
const worst = Math.min(median(ratiosOf(1)), median(ratiosOf(2)));
const worstCpu = cpuOf(0) / Math.max(cpuOf(1), cpuOf(2));
console.log(
  `\nsecurity overhead ratio (secured / baseline, SQLite audit): throughput ${worst.toFixed(3)} — target ≥ ${TARGET.toFixed(3)}: ${worst >= TARGET ? 'met' : 'NOT met'}`,
);
console.log(
  `same, from CPU per call (baseline CPU / secured CPU, all threads; less sensitive to other load): ${worstCpu.toFixed(3)}`,
);

if (opts.callgrind) {
  // Instructions per call under valgrind: nearly the same figure whatever else the machine is doing.
  if (!callgrindAvailable()) {
    console.log('\ninstructions per call: skipped (valgrind with callgrind_control is not installed)');
  } else {
    // One at a time: side by side, each runs slower, and timing-driven work (batching of requests per event-loop
    // turn, GC heuristics, timers) shifts the counts by several percent.
    const base = await instructionsPerCall(files.baseline, call);
    const key = await instructionsPerCall(securedFile, { ...call, headers: { 'x-api-key': apiKey } });
    const bearer = await instructionsPerCall(writeConfig(configs.secured), {
      ...call,
      headers: { authorization: `Bearer ${jwt}` },
    });
    const k = (n) => `${(n / 1000).toFixed(0)} k`;
    console.log(`\ninstructions per call (callgrind, all threads; deterministic):`);
    console.log(`  baseline ${k(base)}, secured with an API key ${k(key)}, with a bearer JWT ${k(bearer)}`);
    console.log(
      `  ratio baseline / secured: API key ${(base / key).toFixed(3)}, bearer JWT ${(base / bearer).toFixed(3)} — target ≥ ${TARGET.toFixed(3)}: ${Math.min(base / key, base / bearer) >= TARGET ? 'met' : 'NOT met'}`,
    );
  }
}

// In process: what each part costs per call, free of HTTP, JSON and other load on the machine.
const { parseConfig } = await import('../dist/config/load.js');
const { Security } = await import('../dist/security/security.js');
const { buildToolChain } = await import('../dist/policies/index.js');
const { GatewayMetrics } = await import('../dist/telemetry/metrics.js');
const { createLogger } = await import('../dist/telemetry/logger.js');
const { SqlStore } = await import('../dist/state/sql-store.js');
const { SqliteDriver } = await import('../dist/state/sqlite.js');
const logger = createLogger({ level: 'silent' });
const N = 7000; // with the warm-up, below audit.batchSize: the queued records are flushed (and measured) afterwards
const perCall = async (fn) => {
  for (let i = 0; i < 2000; i++) await fn(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await fn();
  return ((performance.now() - t0) * 1000) / N;
};
const loaded = parseConfig(
  securedYaml.replace(/jwksUri: "[^"]+"/, `jwksUri: "http://127.0.0.1:${jwks.address().port}/jwks"`) +
    'store: { kind: memory }\naudit: { batchSize: 10000, flushIntervalMs: 60000 }\n',
);
const metrics = new GatewayMetrics({ processMetrics: false });
const security = new Security({ loaded, logger, registry: metrics.registry });
await security.start();
const key = (await security.apiKeys.create('inproc', ['tools:call'], null)).key;
const req = (headers) => ({ url: '/mcp', headers, socket: { remoteAddress: '127.0.0.1' } });
const keyReq = req({ 'x-api-key': key });
const jwtReq = req({ authorization: `Bearer ${jwt}` });
const authKey = await perCall(() => security.authenticate(keyReq));
const authJwt = await perCall(() => security.authenticate(jwtReq));
const definition = { name: 'demo__echo', inputSchema: { type: 'object', properties: { message: { type: 'string' } } } };
const answer = { content: [{ type: 'text', text: 'hello' }] };
const chainOf = (withSecurity, settings) =>
  buildToolChain(
    {
      toolName: 'demo__echo',
      upstreamName: 'demo',
      definition,
      settings,
      sources: {},
      services: { logger, metrics, upstreams: new Map(), ...(withSecurity ? { security } : {}) },
    },
    undefined,
    async () => answer,
  );
const bare = chainOf(false, { validate: { enabled: false } });
const full = chainOf(true, {
  validate: { enabled: false },
  rateLimit: { perCaller: '100000000/s', perTool: '100000000/s' },
});
const principal = await security.authenticate(keyReq);
const entry = { name: 'demo__echo', upstreamName: 'demo', version: 'v', toolName: 'echo' };
const toolCall = () => {
  const controller = new AbortController();
  return {
    entry,
    target: { toolName: 'echo', upstream: { name: 'demo' } },
    arguments: { message: 'hello' },
    principal,
    correlationId: '123e4567-e89b-12d3-a456-426614174000',
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    meta: undefined,
    log: logger,
    startedAt: performance.now(),
  };
};
for (const [name, chain] of [
  ['bare', bare],
  ['full', full],
]) {
  // Measure the path a real call takes, never an error path.
  const r = await chain(toolCall());
  if (r.isError === true || r.content?.[0]?.text !== 'hello')
    throw new Error(`in-process ${name} chain did not answer: ${JSON.stringify(r)}`);
}
const bareUs = await perCall(() => bare(toolCall()));
const fullUs = await perCall(() => full(toolCall()));
await security.audit.flush(); // the first flush compiles the preparation code: not measured
for (let i = 0; i < N; i++) await full(toolCall());
const queued = security.audit.pending;
const flushCpu0 = process.cpuUsage();
await security.audit.flush(); // canonical JSON, hash and redaction of each queued record (memory store)
const flushCpu = process.cpuUsage(flushCpu0);
const flushUs = (flushCpu.user + flushCpu.system) / queued;
const prepared = (await security.storeOrUndefined.queryAudit({ limit: 20_000 })).map(({ id: _id, ...r }) => r);
const records = Array.from({ length: 20_000 }, (_, i) => prepared[i % prepared.length]);
/** CPU (all threads) per record of SQLite inserts in batches of 500, after a warm-up of as many (WASM tier-up). */
const sqliteCpuUs = async (worker) => {
  const store = new SqlStore(
    new SqliteDriver(join(mkdtempSync(join(tmpdir(), 'toolgate-secbench-')), 'audit.db'), { worker }),
  );
  await store.init();
  const insertAll = async () => {
    for (let i = 0; i < records.length; i += 500) await store.appendAudit(records.slice(i, i + 500));
  };
  await insertAll();
  const cpu0 = process.cpuUsage();
  await insertAll();
  const cpu = process.cpuUsage(cpu0);
  await store.close();
  return (cpu.user + cpu.system) / records.length;
};
const sqliteUs = await sqliteCpuUs(true);
const sqliteInlineUs = await sqliteCpuUs(false);
await security.stop();
jwks.close();
const added = Math.max(authKey, authJwt) + (fullUs - bareUs) + flushUs + sqliteInlineUs; // the default: SQLite on the event loop
console.log(`\nin process, per call:`);
console.log(`  authenticate (cached): API key ${authKey.toFixed(2)} µs, bearer JWT ${authJwt.toFixed(2)} µs`);
console.log(
  `  security policies of the chain (authorize, pin, 3 buckets, redact, screen-errors, audit queue): ${(fullUs - bareUs).toFixed(2)} µs`,
);
console.log(`  audit record prepared at flush (canonical JSON, SHA-256, redaction): ${flushUs.toFixed(2)} µs`);
console.log(
  `  audit record inserted into SQLite: ${sqliteUs.toFixed(2)} µs in the worker (CPU of all threads), ${sqliteInlineUs.toFixed(2)} µs on the event loop`,
);
console.log(
  `  total ≈ ${added.toFixed(1)} µs on a gateway call of ~${cpuOf(0).toFixed(0)} µs CPU: expected ratio ${(cpuOf(0) / (cpuOf(0) + added)).toFixed(3)}`,
);
