import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CheckReport } from '../../src/check/types.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin/toolgate.js');
export const FIXTURES = join(ROOT, 'test/check/fixtures');

/** What one CLI run produced. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `toolgate check ARGS` as a real child process, bounded in time. */
export function runCli(args: string[], timeoutMs = 90_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'check', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`toolgate check ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a check with `--format json` into a temp file and returns the parsed report with the run. */
export async function checkJson(args: string[], timeoutMs?: number): Promise<{ run: CliRun; report: CheckReport }> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-check-'));
  const out = join(dir, 'report.json');
  const [before, after] = splitAtDashes(args);
  const run = await runCli(['--quiet', '--format', 'json', '--out', out, ...before, ...after], timeoutMs);
  let report: CheckReport;
  try {
    report = JSON.parse(readFileSync(out, 'utf8')) as CheckReport;
  } catch {
    throw new Error(`no JSON report (exit ${run.code}): ${run.stderr}\n${run.stdout}`);
  }
  return { run, report };
}

function splitAtDashes(args: string[]): [string[], string[]] {
  const i = args.indexOf('--');
  return i === -1 ? [args, []] : [args.slice(0, i), args.slice(i)];
}

/** Arguments that check a stdio fixture. */
export function fixture(name: string): string[] {
  return ['--', process.execPath, join(FIXTURES, `${name}.mjs`)];
}

/** A running HTTP fixture (or server): its URL and how to stop it. */
export interface HttpServer {
  url: string;
  port: number;
  child: ChildProcess;
  stop: () => Promise<void>;
}

/** Starts a process that prints "PORT <n>" (our HTTP fixtures) and resolves once it listens. */
export function startHttpFixture(file: string, env: Record<string, string> = {}): Promise<HttpServer> {
  return startServer(process.execPath, [join(FIXTURES, `${file}.mjs`)], env, (line) => /^PORT (\d+)$/.exec(line)?.[1]);
}

/** Starts a process and waits until `portOf` finds its port in a stdout or stderr line (bounded). */
export function startServer(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  portOf: (line: string) => string | undefined,
  path = '/mcp',
): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        // already gone
      }
      await gone;
    };
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${cmd} ${args.join(' ')} did not report a port`));
    }, 15_000);
    const onLine = (line: string): void => {
      const port = portOf(line);
      if (port === undefined) return;
      clearTimeout(timer);
      resolve({ url: `http://127.0.0.1:${port}${path}`, port: Number(port), child, stop });
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.on('exit', () => clearTimeout(timer));
  });
}

/** Findings ids of a report (open ones). */
export function ids(report: CheckReport): string[] {
  return [...new Set(report.findings.map((f) => f.id))].sort();
}

/** Status of each check id in a report. */
export function statuses(report: CheckReport): Map<string, string> {
  return new Map(report.checks.map((c) => [c.id, c.status]));
}

/** True when process `pid` no longer exists. */
export function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** A port that was free a moment ago (for servers that take a fixed port, and for "connection refused" tests). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
