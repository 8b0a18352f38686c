/* global setTimeout */
// Instructions per call of a `toolgate serve` process, counted by valgrind's callgrind: the same figure whatever
// else the machine is doing (on a shared 2-core machine, throughput and CPU time move by ±15 % between runs; an
// instruction count, run alone, by under 1 %: two baseline runs gave 1.1448e9 and 1.1425e9 instructions for 2000
// calls). Run several side by side and each slows down enough for timing-driven work (requests batched per
// event-loop turn, GC heuristics, timers) to shift its count by several percent: measure one at a time. It does not
// see cache misses or time blocked in system calls, so it complements the throughput ratio rather than replacing it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveGateway, toolCaller } from './gateway-load.mjs';

/** True when valgrind (with callgrind_control) can be run here. */
export function callgrindAvailable() {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `toolgate serve --config file` under callgrind, makes `warmup` calls (V8 compiles the hot paths), zeroes
 * the counters, makes `calls` calls and waits `settleMs` (so timed work such as an audit flush lands inside the
 * window), dumps, and returns the instructions of all threads divided by `calls`. Under valgrind the gateway runs
 * ~50× slower: startup takes about a minute.
 */
export async function instructionsPerCall(file, call, { warmup = 1500, calls = 2000, settleMs = 3000 } = {}) {
  const out = mkdtempSync(join(tmpdir(), 'toolgate-callgrind-'));
  const gw = await serveGateway(file, {
    wrapper: [
      'valgrind',
      '--tool=callgrind',
      '--smc-check=all-non-file', // V8 writes machine code at run time
      `--callgrind-out-file=${join(out, 'callgrind.out')}`,
    ],
    startTimeoutMs: 300_000,
  });
  try {
    const { once, close } = toolCaller(gw, { ...call, connections: 4 });
    let bad = 0;
    const run = async (n) => {
      for (let i = 0; i < n; i += 4) {
        const answers = await Promise.all([once(), once(), once(), once()]);
        bad += answers.filter((ok) => !ok).length;
      }
    };
    await run(warmup);
    await sleep(settleMs);
    execFileSync('callgrind_control', ['--zero', String(gw.pid)], { stdio: 'ignore' });
    await run(calls);
    await sleep(settleMs);
    execFileSync('callgrind_control', ['--dump', String(gw.pid)], { stdio: 'ignore' });
    await close();
    if (bad > 0) throw new Error(`${bad} bad answers from the gateway under valgrind`);
    // The dump after --zero is the only file with a ".<n>" part-number suffix.
    const dump = readdirSync(out).find((f) => /^callgrind\.out\.\d+$/.test(f));
    if (dump === undefined) throw new Error(`no callgrind dump in ${out}`);
    const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(out, dump), 'utf8'));
    if (m === null) throw new Error(`no instruction total in ${dump}`);
    return Number(m[1]) / calls;
  } finally {
    await gw.stop();
  }
}
