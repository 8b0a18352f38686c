/**
 * Processes bench starts (stdio targets, `--start` servers) run in their own process group, so stopping one
 * stops everything it started too (`npx` → `sh` → `node` chains leave orphans otherwise).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Grace after closing stdin before SIGTERM, and after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 2000;

/** Lines of the child's stderr kept to explain a failure. */
const STDERR_TAIL_LINES = 20;

const live = new Set<number>();
let exitHookInstalled = false;

/** Last resort when bench itself exits abruptly (uncaught error, second Ctrl-C): kill every group still alive. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of live) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** A spawned process group. */
export interface ChildGroup {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the group leader exits, with a one-line description of how. */
  readonly exited: Promise<string>;
  /** True once the leader has exited. */
  readonly hasExited: boolean;
  /** The last lines the process wrote to stderr. */
  stderrTail(): string[];
  /** Stops the whole group: close stdin, then SIGTERM, then SIGKILL. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of `spawnGroup`. */
export interface SpawnGroupOptions {
  /** Pipe stdin/stdout for JSON-RPC (stdio targets); otherwise both are ignored. */
  pipeStdio: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * True while a process of the group still runs. Zombies do not count: orphans are re-parented to PID 1, and
 * some container inits reap them late, so `kill(-pgid, 0)` alone would report a stopped group as alive.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return true; // no /proc: trust kill()
  }
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // After the command name: state, ppid, pgrp.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is empty
  }
}

async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!groupAlive(pgid)) return true;
    await sleep(25);
  }
  return !groupAlive(pgid);
}

/** Spawns `argv` as the leader of a new process group (never through a shell). Throws if the spawn fails. */
export async function spawnGroup(argv: readonly string[], options: SpawnGroupOptions): Promise<ChildGroup> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('empty command');
  installExitHook();
  const child = spawn(command, args, {
    detached: true, // setsid: own process group, so the group can be signalled as a whole
    stdio: [options.pipeStdio ? 'pipe' : 'ignore', options.pipeStdio ? 'pipe' : 'ignore', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid!;
  live.add(pid);
  const tail: string[] = [];
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim() !== '') tail.push(l);
    if (tail.length > STDERR_TAIL_LINES) tail.splice(0, tail.length - STDERR_TAIL_LINES);
  });
  let exitedFlag = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve(signal !== null ? `killed by ${signal}` : `exited with code ${code ?? '?'}`);
    });
  });
  // The stdio pipes may error when the child dies mid-write; the exit is reported through `exited`.
  child.stdin?.on('error', () => undefined);
  child.stdout?.on('error', () => undefined);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // A stdio server's polite shutdown is EOF on stdin; a server without a stdin pipe gets SIGTERM at once.
      if (child.stdin !== null) {
        child.stdin.end();
        if (!exitedFlag) await Promise.race([exited, sleep(STOP_GRACE_MS, undefined, { ref: false })]);
      }
      // The leader may be gone while its children (npx → node) live on: signal the group either way.
      if (groupAlive(pid)) {
        signalGroup(pid, 'SIGTERM');
        if (!(await waitGroupGone(pid, STOP_GRACE_MS))) {
          signalGroup(pid, 'SIGKILL');
          await waitGroupGone(pid, STOP_GRACE_MS);
        }
      }
      // The group is gone; let Node reap the leader so `exited` has settled when stop() resolves.
      if (!exitedFlag) await Promise.race([exited, sleep(STOP_GRACE_MS, undefined, { ref: false })]);
      live.delete(pid);
    })();
    return stopping;
  };
  return {
    child,
    pid,
    exited,
    get hasExited() {
      return exitedFlag;
    },
    stderrTail: () => (partial.trim() === '' ? [...tail] : [...tail, partial]),
    stop,
  };
}
