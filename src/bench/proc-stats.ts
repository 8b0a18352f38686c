/**
 * CPU and memory of a target's whole process tree, read from Linux /proc (no native module, no `ps` spawns).
 * `npx server` is three processes (npx → sh → node): measuring only the leader would miss the server itself.
 */
import { readFile, readdir } from 'node:fs/promises';

/** Linux's USER_HZ: utime/stime in /proc/PID/stat count 1/100 s on every mainstream architecture. */
const CLOCK_TICKS_PER_SEC = 100;

/** Default sampling period for peak RSS. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 500;

/** One process as /proc shows it. */
interface ProcEntry {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks: reaped children's time moves into their parent's c* fields. */
  cpuTicks: number;
}

/** Resource use of a process tree over a window. */
export interface ProcessTreeStats {
  rootPid: number;
  /** Length of the window, ms. */
  wallMs: number;
  /** CPU time of the tree during the window, ms. */
  cpuMs: number;
  /** `cpuMs` over the wall time: 100 = one core fully busy. */
  cpuPercent: number;
  /** Largest summed RSS of the tree seen in a sample, bytes (shared pages count once per process). */
  peakRssBytes: number;
  /** Summed RSS at the end of the window, bytes. */
  endRssBytes: number;
  /** Most processes seen in the tree at once. */
  maxProcesses: number;
  samples: number;
}

/** Parses /proc/PID/stat (the command name may contain spaces and parentheses: split after the last `)`). */
export function parseProcStat(text: string): ProcEntry | undefined {
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  // Fields after the name, 0-based: 0 state, 1 ppid, …, 11 utime, 12 stime, 13 cutime, 14 cstime.
  const f = text.slice(close + 2).split(' ');
  const num = (i: number): number => Number(f[i] ?? 0);
  if (f.length < 15 || !Number.isFinite(pid)) return undefined;
  return { pid, ppid: num(1), cpuTicks: num(11) + num(12) + num(13) + num(14) };
}

async function readAllProcs(): Promise<ProcEntry[]> {
  const names = await readdir('/proc');
  const entries = await Promise.all(
    names
      .filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57)
      .map((n) =>
        readFile(`/proc/${n}/stat`, 'utf8').then(
          (t) => parseProcStat(t),
          () => undefined,
        ),
      ),
  );
  return entries.filter((e): e is ProcEntry => e !== undefined);
}

/** `root` and every descendant of it in `all`. */
export function treeOf(root: number, all: readonly ProcEntry[]): ProcEntry[] {
  const children = new Map<number, ProcEntry[]>();
  let rootEntry: ProcEntry | undefined;
  for (const e of all) {
    if (e.pid === root) rootEntry = e;
    const list = children.get(e.ppid);
    if (list === undefined) children.set(e.ppid, [e]);
    else list.push(e);
  }
  if (rootEntry === undefined) return [];
  const out: ProcEntry[] = [];
  const stack = [rootEntry];
  while (stack.length > 0) {
    const e = stack.pop()!;
    out.push(e);
    for (const c of children.get(e.pid) ?? []) stack.push(c);
  }
  return out;
}

async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

/** True where /proc can be read (Linux). */
export async function procAvailable(): Promise<boolean> {
  try {
    await readFile('/proc/self/stat', 'utf8');
    return true;
  } catch {
    return false;
  }
}

/**
 * Samples a process tree while a window is open: CPU from the difference of tick counters at the start and end,
 * RSS peak from periodic samples. Reads are asynchronous so the sampler does not stall the load loop.
 */
export class ProcessTreeSampler {
  private startTicks = 0;
  private startWall = 0;
  private peak = 0;
  private last = 0;
  private maxProcs = 0;
  private samples = 0;
  private lastTicks = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    readonly rootPid: number,
    private readonly intervalMs = DEFAULT_SAMPLE_INTERVAL_MS,
  ) {}

  /** Opens the window. */
  async start(): Promise<void> {
    await this.sample();
    this.startTicks = this.lastTicks;
    this.startWall = performance.now();
    this.peak = this.last;
    this.timer = setInterval(() => {
      this.inFlight ??= this.sample().finally(() => {
        this.inFlight = undefined;
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Closes the window and returns the tree's use during it. */
  async stop(): Promise<ProcessTreeStats> {
    clearInterval(this.timer);
    await this.inFlight;
    await this.sample();
    const wallMs = performance.now() - this.startWall;
    const cpuMs = Math.max(0, ((this.lastTicks - this.startTicks) * 1000) / CLOCK_TICKS_PER_SEC);
    return {
      rootPid: this.rootPid,
      wallMs,
      cpuMs,
      cpuPercent: wallMs > 0 ? (cpuMs / wallMs) * 100 : 0,
      peakRssBytes: this.peak,
      endRssBytes: this.last,
      maxProcesses: this.maxProcs,
      samples: this.samples,
    };
  }

  private async sample(): Promise<void> {
    const tree = treeOf(this.rootPid, await readAllProcs());
    if (tree.length === 0) return; // the tree is gone: keep the last figures
    const rss = (await Promise.all(tree.map((e) => rssBytes(e.pid)))).reduce((a, b) => a + b, 0);
    this.lastTicks = tree.reduce((a, e) => a + e.cpuTicks, 0);
    this.last = rss;
    if (rss > this.peak) this.peak = rss;
    if (tree.length > this.maxProcs) this.maxProcs = tree.length;
    this.samples++;
  }
}
