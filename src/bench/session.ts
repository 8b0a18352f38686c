/**
 * One bench invocation: connect the targets, run the load (once, or in alternating compare rounds), watch the
 * targets' processes and the generator, and assemble the report.
 */
import { GatewayError } from '../errors.js';
import type { Era } from './era.js';
import { generatorWarnings, watchGenerator, type GeneratorStats } from './generator-stats.js';
import { HttpTarget } from './http-target.js';
import { createPicker, prepareOperation, type OperationSpec } from './operations.js';
import { formatMs } from './parse.js';
import { ProcessTreeSampler, procAvailable, type ProcessTreeStats } from './proc-stats.js';
import {
  median,
  targetReport,
  type CompareReport,
  type RatioFigures,
  type TargetInfo,
  type TargetReport,
} from './report.js';
import { LoadRunner, systemClock, type Clock, type LoadPlan, type RunResult } from './runner.js';
import { OpStats, TimeSeries, errorSummary, MessageCounter } from './stats.js';
import { StdioTarget } from './stdio-target.js';
import type { BenchTarget } from './target.js';

/** A target as given on the command line. */
export interface TargetSpec {
  label: string;
  /** A stdio command line (already split) … */
  argv?: string[];
  /** … or a Streamable HTTP endpoint. */
  url?: string;
  /** For `url`: a command bench starts that serves it. */
  start?: string[];
  /** A process to sample (its whole tree) for CPU and memory. */
  pid?: number;
}

/** Everything a bench session needs. */
export interface SessionOptions {
  targets: TargetSpec[];
  /** Rounds of A B A B … alternation; 1 without `--compare`. */
  rounds: number;
  plan: LoadPlan;
  era: Era | 'auto';
  sessions: number;
  connectTimeoutMs: number;
  headers: Record<string, string>;
  operations: OperationSpec[];
  /** Where progress and "load goes to" lines go (stderr); undefined to stay silent. */
  log: ((line: string) => void) | undefined;
  /** Live progress line writer (stderr TTY or periodic lines); undefined for none. */
  progress: ((line: string, final: boolean) => void) | undefined;
  clock?: Clock;
}

/** What a session produced. */
export interface SessionResult {
  targets: TargetReport[];
  compare: CompareReport | undefined;
  warnings: string[];
  interrupted: boolean;
}

interface Connected {
  spec: TargetSpec;
  target: BenchTarget;
  info: TargetInfo;
}

interface RoundRun {
  run: RunResult;
  process: ProcessTreeStats | undefined;
  generator: GeneratorStats;
}

/** Creates the load client of a target spec. */
export function createTarget(spec: TargetSpec, options: SessionOptions): BenchTarget {
  if (spec.url !== undefined) {
    const http: ConstructorParameters<typeof HttpTarget>[0] = {
      url: spec.url,
      era: options.era,
      connections: options.plan.concurrency,
      sessions: options.sessions,
      connectTimeoutMs: options.connectTimeoutMs,
      headers: options.headers,
    };
    if (spec.start !== undefined) http.start = spec.start;
    return new HttpTarget(http);
  }
  if (spec.argv === undefined || spec.argv.length === 0)
    throw new GatewayError('TG_CLI_USAGE', `target ${spec.label}: empty command`);
  return new StdioTarget({ argv: spec.argv, era: options.era, connectTimeoutMs: options.connectTimeoutMs });
}

/** Runs a session to the end. Targets are always closed (children stopped), whatever happens. */
export class BenchSession {
  private current: LoadRunner | undefined;
  private interrupted = false;
  private readonly connected: Connected[] = [];

  constructor(private readonly options: SessionOptions) {}

  /** Ctrl-C: stop the current run (its figures are kept) and skip the rest. */
  interrupt(): void {
    this.interrupted = true;
    this.current?.stop('interrupted');
  }

  /** Connects, runs, closes. */
  async run(): Promise<SessionResult> {
    try {
      for (const spec of this.options.targets) {
        if (this.interrupted) break;
        this.connected.push(await this.connect(spec));
      }
      return await this.measure();
    } finally {
      await Promise.all(this.connected.map((c) => c.target.close()));
    }
  }

  private async connect(spec: TargetSpec): Promise<Connected> {
    const target = createTarget(spec, this.options);
    this.options.log?.(`bench: ${spec.label}: load goes to ${target.description}`);
    const info = await target.connect();
    const sessions =
      info.sessions === undefined ? '' : info.sessions === 0 ? ', stateless' : `, ${info.sessions} session(s)`;
    this.options.log?.(
      `bench: ${spec.label}: ${info.era} era (${info.protocolVersion})${sessions}${info.server === undefined ? '' : `, server ${info.server}`}, connected in ${formatMs(info.connectMs)}`,
    );
    return {
      spec,
      target,
      info: {
        label: spec.label,
        description: target.description,
        transport: spec.url !== undefined ? 'http' : 'stdio',
        era: info.era,
        protocolVersion: info.protocolVersion,
        server: info.server,
        sessions: info.sessions,
        connectMs: Math.round(info.connectMs * 10) / 10,
      },
    };
  }

  private async measure(): Promise<SessionResult> {
    const { rounds } = this.options;
    const runs = new Map<string, RoundRun[]>(this.connected.map((c) => [c.spec.label, []]));
    const canSample = await procAvailable();
    for (let round = 1; round <= rounds && !this.interrupted; round++) {
      for (const c of this.connected) {
        if (this.interrupted) break;
        const prefix = rounds > 1 ? `round ${round}/${rounds} ${c.spec.label}` : c.spec.label;
        runs.get(c.spec.label)!.push(await this.runOnce(c, prefix, canSample));
      }
    }
    const warnings: string[] = [];
    if (!canSample) warnings.push('/proc is not readable here: no CPU/memory figures for targets');
    const targets = this.connected
      .filter((c) => (runs.get(c.spec.label) ?? []).length > 0)
      .map((c) => targetReport(aggregate(c, runs.get(c.spec.label)!, canSample)));
    const compare = rounds > 1 || this.connected.length > 1 ? compareReport(this.connected, runs) : undefined;
    return { targets, compare, warnings, interrupted: this.interrupted };
  }

  private async runOnce(c: Connected, prefix: string, canSample: boolean): Promise<RoundRun> {
    const { plan, operations } = this.options;
    const prepared = operations.map((o) => prepareOperation(o, c.info.era, c.target.envelope));
    const pick = createPicker(
      prepared,
      operations.map((o) => o.weight),
    );
    const runner = new LoadRunner(c.target, plan, pick, this.options.clock ?? systemClock);
    this.current = runner;
    const pid = c.spec.pid ?? c.target.pid;
    const sampler = canSample && pid !== undefined ? new ProcessTreeSampler(pid) : undefined;
    await sampler?.start();
    const stopGenerator = watchGenerator();
    const progress = this.options.progress;
    const ticker =
      progress === undefined
        ? undefined
        : setInterval(() => {
            const p = runner.progress();
            progress(progressLine(prefix, p.elapsedMs, p.completed, p.errors, p.p99Ms), false);
          }, 1000);
    try {
      const run = await runner.run();
      const generator = stopGenerator();
      const processStats = await sampler?.stop();
      progress?.(
        progressLine(
          prefix,
          run.windowMs,
          run.completed,
          run.completed - run.overall.outcomes.ok,
          run.overall.latency.percentile(99) / 1000,
        ),
        true,
      );
      return { run, process: processStats, generator };
    } finally {
      clearInterval(ticker);
      this.current = undefined;
    }
  }
}

/** The live progress line. */
export function progressLine(prefix: string, elapsedMs: number, done: number, errors: number, p99Ms: number): string {
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  return `bench: ${prefix}: ${(elapsedMs / 1000).toFixed(1)}s ${done} done ${rate.toFixed(0)} req/s p99 ${formatMs(p99Ms)} errors ${errors}`;
}

/** One target's rounds merged into one measurement (histograms and counts add up; windows add up). */
function aggregate(c: Connected, rounds: RoundRun[], canSample: boolean): Parameters<typeof targetReport>[0] {
  const first = rounds[0]!;
  if (rounds.length === 1) {
    return {
      info: c.info,
      run: first.run,
      process: first.process,
      processNote: processNote(c, canSample),
      generator: first.generator,
    };
  }
  const overall = new OpStats();
  const perOp = new Map<string, OpStats>();
  const series = new TimeSeries();
  const messages = new MessageCounter();
  let offset = 0;
  for (const { run } of rounds) {
    overall.merge(run.overall);
    for (const [label, s] of run.perOp) {
      const into = perOp.get(label) ?? new OpStats();
      into.merge(s);
      perOp.set(label, into);
    }
    series.append(run.series, offset);
    offset += Math.ceil(run.windowMs / 1000) * 1000;
    for (const e of run.topErrors) for (let i = 0; i < e.count; i++) messages.add(e.message);
  }
  const sum = (f: (r: RunResult) => number): number => rounds.reduce((a, r) => a + f(r.run), 0);
  const windowMs = sum((r) => r.windowMs);
  const last = rounds[rounds.length - 1]!.run;
  const run: RunResult = {
    plan: first.run.plan,
    stopReason:
      rounds.find((r) => r.run.stopReason !== 'completed' && r.run.stopReason !== 'duration')?.run.stopReason ??
      first.run.stopReason,
    stopDetail: rounds.find((r) => r.run.stopDetail !== undefined)?.run.stopDetail,
    sent: sum((r) => r.sent),
    completed: sum((r) => r.completed),
    warmupCompleted: sum((r) => r.warmupCompleted),
    windowMs,
    throughput: windowMs > 0 ? (sum((r) => r.completed) / windowMs) * 1000 : 0,
    overall,
    perOp,
    series,
    topErrors: messages.top(),
    maxSendLagMs: Math.max(...rounds.map((r) => r.run.maxSendLagMs)),
    // The target's counters are cumulative over the whole session: the last round holds the total.
    unmatchedResponses: last.unmatchedResponses,
    lateResponses: last.lateResponses,
    sessionReinits: last.sessionReinits,
  };
  let process: ProcessTreeStats | undefined;
  const procs = rounds.map((r) => r.process).filter((p): p is ProcessTreeStats => p !== undefined);
  if (procs.length > 0) {
    const cpuMs = procs.reduce((a, p) => a + p.cpuMs, 0);
    const wallMs = procs.reduce((a, p) => a + p.wallMs, 0);
    process = {
      rootPid: procs[0]!.rootPid,
      wallMs,
      cpuMs,
      cpuPercent: wallMs > 0 ? (cpuMs / wallMs) * 100 : 0,
      peakRssBytes: Math.max(...procs.map((p) => p.peakRssBytes)),
      endRssBytes: procs[procs.length - 1]!.endRssBytes,
      maxProcesses: Math.max(...procs.map((p) => p.maxProcesses)),
      samples: procs.reduce((a, p) => a + p.samples, 0),
    };
  }
  const gens = rounds.map((r) => r.generator);
  const figures = {
    cpuMs: gens.reduce((a, g) => a + g.cpuMs, 0),
    cpuPercent: median(gens.map((g) => g.cpuPercent)),
    loopDelayP50Ms: median(gens.map((g) => g.loopDelayP50Ms)),
    loopDelayP99Ms: median(gens.map((g) => g.loopDelayP99Ms)),
    loopDelayMaxMs: Math.max(...gens.map((g) => g.loopDelayMaxMs)),
  };
  // Medians over rounds, like the compare figures: one noisy round neither raises nor hides a warning.
  const generator: GeneratorStats = { ...figures, warnings: generatorWarnings(figures) };
  return { info: c.info, run, process, processNote: processNote(c, canSample), generator };
}

function processNote(c: Connected, canSample: boolean): string | undefined {
  if (!canSample) return undefined;
  if (c.spec.pid !== undefined || c.target.pid !== undefined) return undefined;
  return 'no process figures: bench did not start this server (use --start to have bench start it, or --pid PID)';
}

/** Per-round figures and ratios to the first target, plus the median ratio over rounds. */
function compareReport(connected: Connected[], runs: Map<string, RoundRun[]>): CompareReport {
  const reference = connected[0]!.spec.label;
  const order = connected.map((c) => c.spec.label);
  const roundCount = Math.max(...[...runs.values()].map((r) => r.length));
  const rounds: CompareReport['rounds'] = [];
  for (let i = 0; i < roundCount; i++) {
    const results = connected
      .map((c) => runs.get(c.spec.label)![i])
      .map((r, k) => (r === undefined ? undefined : { label: order[k]!, r }))
      .filter((x) => x !== undefined)
      .map(({ label, r }) => ({
        label,
        throughput: Math.round(r.run.throughput * 100) / 100,
        p50: r.run.overall.latency.percentile(50) / 1000,
        p99: r.run.overall.latency.percentile(99) / 1000,
        errorRate: errorSummary(r.run.overall.outcomes).errorRate,
        cpuPercent: r.process?.cpuPercent,
      }));
    const ref = results.find((x) => x.label === reference);
    const ratios: RatioFigures[] =
      ref === undefined
        ? []
        : results
            .filter((x) => x.label !== reference)
            .map((x) => ({
              label: x.label,
              throughput: safeRatio(x.throughput, ref.throughput),
              p50: safeRatio(x.p50, ref.p50),
              p99: safeRatio(x.p99, ref.p99),
            }));
    rounds.push({ round: i + 1, results, ratios });
  }
  const median_: RatioFigures[] = order.slice(1).map((label) => {
    const rs = rounds
      .map((r) => r.ratios.find((x) => x.label === label))
      .filter((x): x is RatioFigures => x !== undefined);
    const m = (f: (x: RatioFigures) => number): number =>
      Math.round(median(rs.map(f).filter(Number.isFinite)) * 1000) / 1000;
    return { label, throughput: m((x) => x.throughput), p50: m((x) => x.p50), p99: m((x) => x.p99) };
  });
  return { reference, order, rounds, median: median_ };
}

function safeRatio(a: number, b: number): number {
  return b > 0 ? a / b : Number.NaN;
}
