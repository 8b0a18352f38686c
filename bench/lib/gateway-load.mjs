/* global URL, performance, setTimeout, clearTimeout */
// Helpers shared by the gateway benchmarks: start `toolgate serve` on a config file, drive it with a closed loop of
// modern-era (stateless) tools/call requests over keep-alive connections, read a process's CPU time, take medians.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const BIN = fileURLToPath(new URL('../../bin/toolgate.js', import.meta.url));
const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};
const live = new Set();
process.on('exit', () => live.forEach((c) => c.kill('SIGKILL')));

/**
 * Starts `toolgate serve --config file` and resolves with its MCP URL and pid once it listens. `wrapper` runs it
 * under another program (e.g. valgrind, which keeps the pid); `startTimeoutMs` bounds the wait.
 */
export async function serveGateway(file, { wrapper = [], startTimeoutMs = 20_000 } = {}) {
  const args = [process.execPath, BIN, 'serve', '--config', file, '--log-level', 'info'];
  const command = [...wrapper, ...args];
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let text = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${text}`)), startTimeoutMs);
    child.stderr.on('data', (d) => {
      text += d;
      const m = /"url":"(http:[^"]+)"/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${text.slice(-2000)}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // stop() resolves once the process has exited (audit flushed, store closed): the next one may open the same files.
  return { url, pid: child.pid, stop: () => (child.kill('SIGTERM'), exited) };
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux); NaN elsewhere. With `tree`, its
 * descendants are counted too (a gateway and the stdio children it supervises).
 */
export function cpuMs(pid, { tree = false } = {}) {
  let total = Number.NaN;
  const walk = (p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total = (Number.isNaN(total) ? 0 : total) + ((Number(f[11]) + Number(f[12])) * 1000) / 100; // 100 Hz ticks
      if (!tree) return;
      const kids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      for (const k of kids ? kids.split(' ') : []) walk(Number(k));
    } catch {
      // gone
    }
  };
  walk(pid);
  return total;
}

/**
 * A caller of one tool on one gateway over `connections` keep-alive connections (modern-era stateless calls).
 * `once()` resolves true for a good answer: HTTP 200, containing `expect`, not an isError result.
 */
export function toolCaller(target, { tool, args, expect, headers = {}, connections }) {
  const u = new URL(target.url);
  const pool = new Pool(u.origin, { connections });
  const request = {
    method: 'POST',
    path: u.pathname,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': tool,
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: tool, arguments: args, _meta: META },
    }),
  };
  // One call through undici's dispatcher API: no response stream or body object per call, so the generator
  // spends as little CPU as it can (on a small machine it shares the cores with the gateway under test).
  const once = () =>
    new Promise((resolve) => {
      let status = 0;
      const chunks = [];
      pool.dispatch(request, {
        onRequestStart() {},
        onResponseStart(_controller, statusCode) {
          status = statusCode;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          const text = chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString();
          resolve(status === 200 && text.includes(expect) && !text.includes('"isError":true'));
        },
        onResponseError() {
          resolve(false);
        },
      });
    });
  return { once, close: () => pool.close() };
}

/**
 * Closed loop against one gateway: `concurrency` calls of `tool` in flight for `seconds` after `warmup` seconds.
 * An answer is good when it is HTTP 200, contains `expect` and is not an isError result. Returns good calls per
 * second, bad answers, and the CPU the gateway and this load generator spent per call (after the warm-up).
 */
export async function closedLoop(target, { tool, args, expect, headers = {}, concurrency, seconds, warmup }) {
  const { once, close } = toolCaller(target, { tool, args, expect, headers, connections: concurrency });
  let counting = false;
  let running = true;
  let ok = 0;
  let bad = 0;
  let total = 0;
  const loop = async () => {
    while (running) {
      const good = await once();
      total++;
      if (!good) bad++;
      else if (counting) ok++;
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  await new Promise((r) => setTimeout(r, warmup * 1000));
  // CPU is measured over the counted window only: a fresh process compiles (JIT) during the warm-up.
  const cpuBefore = cpuMs(target.pid);
  const genBefore = process.cpuUsage();
  const totalBefore = total;
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpuAfter = cpuMs(target.pid);
  const gen = process.cpuUsage(genBefore);
  const calls = Math.max(1, total - totalBefore);
  running = false;
  await Promise.all(loops);
  await close();
  return {
    rps: ok / elapsed,
    bad,
    cpuUsPerCall: ((cpuAfter - cpuBefore) * 1000) / calls,
    // The load generator's own CPU per call: on a small machine it shares the cores with the gateway.
    generatorCpuUsPerCall: (gen.user + gen.system) / calls,
  };
}

/**
 * Several gateways measured in interleaved windows: each target gets a `warmup`-second warm-up, then the targets
 * take turns — `windowMs` each, in a rotating order — until each has had `seconds` of load. Machine speed on a
 * shared VM drifts over seconds (the same process can run 30 % slower a few seconds later); targets measured side
 * by side in short alternating windows see the same drift, so their ratio keeps it out. `targets`:
 * `{ gateway, headers }` (several may share a gateway). Returns per target: good calls per second of its own
 * windows, bad answers, and the CPU per call of its gateway over the whole interleaved period (work a gateway
 * defers — an audit flush on a timer — is counted even when it runs during another target's window; a gateway
 * shared by several targets has its CPU split by their calls).
 */
export async function interleaved(targets, { tool, args, expect, concurrency, seconds, warmup, windowMs }) {
  const callers = targets.map((t) =>
    toolCaller(t.gateway, { tool, args, expect, headers: t.headers, connections: concurrency }),
  );
  const window = async (i, ms) => {
    const { once } = callers[i];
    const end = performance.now() + ms;
    let ok = 0;
    let bad = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          if (await once()) ok++;
          else bad++;
        }
      }),
    );
    return { ok, bad };
  };
  for (let i = 0; i < targets.length; i++) await window(i, warmup * 1000);
  const gateways = [...new Set(targets.map((t) => t.gateway))];
  const cpu0 = gateways.map((g) => cpuMs(g.pid));
  const tally = targets.map(() => ({ ok: 0, bad: 0, ms: 0 }));
  const turns = Math.max(1, Math.round((seconds * 1000) / windowMs));
  for (let w = 0; w < turns; w++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (k + w) % targets.length;
      const t0 = performance.now();
      const r = await window(i, windowMs);
      tally[i].ok += r.ok;
      tally[i].bad += r.bad;
      tally[i].ms += performance.now() - t0;
    }
  }
  // Let deferred work (an audit batch waiting for its timer) land inside the CPU count.
  await new Promise((r) => setTimeout(r, Math.max(1500, windowMs)));
  const cpu = gateways.map((g, j) => cpuMs(g.pid) - cpu0[j]);
  await Promise.all(callers.map((c) => c.close()));
  return targets.map((t, i) => {
    const j = gateways.indexOf(t.gateway);
    const served = targets.reduce((a, u, k) => a + (u.gateway === t.gateway ? tally[k].ok + tally[k].bad : 0), 0);
    return {
      rps: tally[i].ok / (tally[i].ms / 1000),
      bad: tally[i].bad,
      cpuUsPerCall: (cpu[j] * 1000) / Math.max(1, served),
    };
  });
}

/** The median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
