#!/usr/bin/env node
// Security overhead benchmark (issue 4 target): a local tool called through toolgate with every security feature
// on — authentication (API key, or a bearer JWT verified against a local JWKS), an authorization rule, three rate
// limit buckets, redaction of the result, audit to SQLite, tool pinning — against the same gateway with all of them
// off. Target: the secured gateway keeps ≥ 80 % of the baseline's throughput.
//
// Usage: npm run build && node bench/security-overhead.mjs [--seconds 3] [--rounds 5] [--concurrency 8]
// The gateways run as `toolgate serve` processes; load comes from this process (keep-alive, closed loop). Targets
// alternate (baseline, api-key, bearer, …) so drift on the machine hits all alike; each ratio is the median of its
// per-round ratios to the baseline of the same round. Besides calls/s, the CPU the gateway process (all threads:
// the SQLite store runs in a worker) spends per call is reported: on a small machine where the load generator
// competes for the same cores, CPU per call is the steadier measure of cost.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Pool } from 'undici';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/toolgate.js');
const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
  },
});
const SECONDS = Number(opts.seconds);
const ROUNDS = Number(opts.rounds);
const WARMUP = Number(opts.warmup);
const CONCURRENCY = Number(opts.concurrency);
const RESOURCE = 'https://bench.toolgate.test/mcp';
const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};
const live = new Set();
process.on('exit', () => live.forEach((c) => c.kill('SIGKILL')));

// A local issuer: RS256 key, JWKS on 127.0.0.1.
const { publicKey, privateKey } = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
await new Promise((r) => jwks.listen(0, '127.0.0.1', r));
const issuer = 'https://idp.bench.test';
const jwt = await new SignJWT({ scope: 'tools:call' })
  .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
  .setIssuer(issuer)
  .setAudience(RESOURCE)
  .setSubject('bench-user')
  .setExpirationTime('1h')
  .sign(privateKey);

const demo = `  demo:\n    kind: local\n    module: ${join(ROOT, 'examples/tools/demo-tools.mjs')}\n`;
const configs = {
  baseline: `audit: { enabled: false }\npinning: { enabled: false }\ntools:\n  "*": { redact: { mode: "off", screenErrors: false } }\n`,
  secured: `auth:
  resource: ${RESOURCE}
  bearer: { issuer: ${issuer}, jwksUri: "http://127.0.0.1:${jwks.address().port}/jwks" }
  apiKeys: {}
authorization:
  rules:
    - tools: ["demo__*"]
      when: { scopes: ["tools:call"] }
rateLimits: { perPrincipal: 100000000/s }
tools:
  demo__echo: { rateLimit: { perCaller: 100000000/s, perTool: 100000000/s } }
`,
};

function writeConfig(extra) {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-secbench-'));
  const file = join(dir, 'toolgate.yaml');
  writeFileSync(file, `listen: { port: 0 }\nlog: { level: warn }\n${extra}upstreams:\n${demo}`);
  return file;
}

/** CPU time (user + system, ms) of a process, all threads, from /proc (Linux). */
function processCpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
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

/** Closed loop: CONCURRENCY requests in flight over keep-alive connections for SECONDS; returns calls/s. */
async function load(url, headers, pid) {
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
      'mcp-name': 'demo__echo',
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'demo__echo', arguments: { message: 'hello' }, _meta: META },
    }),
  };
  let counting = false;
  let running = true;
  let ok = 0;
  let bad = 0;
  const loop = async () => {
    while (running) {
      const res = await pool.request(request);
      const text = await res.body.text();
      const good = res.statusCode === 200 && text.includes('"text":"hello"');
      if (!good) bad++;
      else if (counting) ok++;
    }
  };
  const loops = Array.from({ length: CONCURRENCY }, loop);
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  counting = true;
  const t0 = performance.now();
  const cpu0 = processCpuMs(pid);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  counting = false;
  const cpuMs = processCpuMs(pid) - cpu0;
  const seconds = (performance.now() - t0) / 1000;
  running = false;
  await Promise.all(loops);
  await pool.close();
  return { rps: ok / seconds, bad, cpuUs: ok > 0 ? (cpuMs * 1000) / ok : NaN };
}

const baselineFile = writeConfig(configs.baseline);
const securedFile = writeConfig(configs.secured);
const securedMemoryFile = writeConfig(`${configs.secured}store: { kind: memory }\n`);
const apiKey = execFileSync(
  process.execPath,
  [BIN, 'keys', 'create', '--name', 'bench', '--scopes', 'tools:call', '--config', securedFile],
  { encoding: 'utf8' },
).trim();
const baseline = await serve(baselineFile);
const secured = await serve(securedFile);
const securedMemory = await serve(securedMemoryFile);
const targets = [
  {
    name: 'baseline: no auth, rules, limits, redaction, audit, pinning',
    url: baseline.url,
    pid: baseline.pid,
    headers: {},
  },
  {
    name: 'secured: API key, rule, 3 buckets, redaction, SQLite audit, pins',
    url: secured.url,
    pid: secured.pid,
    headers: { 'x-api-key': apiKey },
  },
  {
    name: 'secured: bearer JWT, same policies',
    url: secured.url,
    pid: secured.pid,
    headers: { authorization: `Bearer ${jwt}` },
  },
  {
    name: 'secured: bearer JWT, audit to the memory store',
    url: securedMemory.url,
    pid: securedMemory.pid,
    headers: { authorization: `Bearer ${jwt}` },
  },
];
console.log(
  `node ${process.version}, ${cpus().length} CPUs, ${CONCURRENCY} concurrent clients, ${ROUNDS} rounds of ${SECONDS}s (after ${WARMUP}s warm-up)`,
);
const runs = targets.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, t] of targets.entries()) runs[i].push(await load(t.url, t.headers, t.pid));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [i, t] of targets.entries()) {
  const rps = median(runs[i].map((r) => r.rps));
  const cpu = median(runs[i].map((r) => r.cpuUs));
  const bad = runs[i].reduce((a, r) => a + r.bad, 0);
  const ratios = runs[i].map((r, k) => r.rps / runs[0][k].rps);
  const ratio =
    i === 0
      ? '(reference)'
      : `${(median(ratios) * 100).toFixed(1)} % of baseline (rounds: ${ratios.map((x) => (x * 100).toFixed(0)).join(' / ')})`;
  console.log(
    `  ${t.name.padEnd(66)} ${String(Math.round(rps)).padStart(6)} calls/s ${cpu.toFixed(0).padStart(4)} µs CPU/call  bad ${bad}  ${ratio}`,
  );
}
const ratioOf = (i) => median(runs[i].map((r, k) => r.rps / runs[0][k].rps));
const cpuRatioOf = (i) => median(runs[0].map((r) => r.cpuUs)) / median(runs[i].map((r) => r.cpuUs));
const worst = Math.min(ratioOf(1), ratioOf(2));
const worstCpu = Math.min(cpuRatioOf(1), cpuRatioOf(2));
console.log(
  `\nsecurity overhead ratio (secured / baseline, SQLite audit): throughput ${worst.toFixed(3)}, CPU per call ${worstCpu.toFixed(3)} — target ≥ 0.800: ${worst >= 0.8 ? 'met' : 'NOT met'}`,
);
baseline.stop();
secured.stop();
securedMemory.stop();
jwks.close();
