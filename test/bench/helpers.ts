import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from '../../src/bench/report.js';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI. */
export const CLI = fileURLToPath(new URL('../../bin/toolgate.js', import.meta.url));
/** The stdio echo server of the bench folder (it can also fail on purpose). */
export const ECHO = fileURLToPath(new URL('../../bench/stdio-echo-server.mjs', import.meta.url));
/** A dual-era SDK v2 Streamable HTTP server. */
export const SDK_HTTP = fileURLToPath(new URL('./fixtures/sdk-http-server.mjs', import.meta.url));

/** What one CLI run produced. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `toolgate bench ...args` to completion (bounded by `timeoutMs`). */
export function bench(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'bench', ...args], {
      cwd: ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 25_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs bench with `--format json` and parses the report from stdout. */
export async function benchJson(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ run: CliRun; report: BenchReport }> {
  const run = await bench([...args, '--format', 'json', '--quiet'], options);
  let report: BenchReport;
  try {
    report = JSON.parse(run.stdout) as BenchReport;
  } catch {
    throw new Error(`no JSON report (exit ${run.code})\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
  return { run, report };
}

/** True while a non-zombie process of the group runs. */
export function groupAlive(pgid: number): boolean {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const f = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/** A free TCP port on 127.0.0.1 (for servers that take their port from the environment or a config). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
