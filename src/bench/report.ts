/**
 * The report model: plain JSON, the single source every output format (text, Markdown, HTML, JSON) renders.
 * Latencies are in milliseconds, rates are fractions (0–1), memory in bytes.
 */
import { cpus, loadavg, platform, release } from 'node:os';
import { VERSION } from '../version.js';
import type { Era } from './era.js';
import type { GeneratorStats } from './generator-stats.js';
import type { LatencyHistogram } from './histogram.js';
import type { ProcessTreeStats } from './proc-stats.js';
import type { RunResult } from './runner.js';
import { errorSummary, type OpStats, type OutcomeCounts } from './stats.js';

/** Latency distribution summary, ms. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  stdev: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** Error figures derived from outcomes. */
export type ErrorFigures = ReturnType<typeof errorSummary>;

/** One operation's figures. */
export interface OperationReport {
  label: string;
  latency: LatencySummary;
  outcomes: OutcomeCounts;
  errors: ErrorFigures;
}

/** One time-series point. */
export interface SeriesPoint {
  /** Interval start, ms since the measurement started. */
  tMs: number;
  /** Length of the interval inside the measurement window, ms (the last one is usually partial). */
  durationMs: number;
  completed: number;
  /** Completions per second over `durationMs`. */
  rps: number;
  errors: number;
  p50: number;
  p99: number;
}

/** How the target was reached. */
export interface TargetInfo {
  label: string;
  /** Where the load went (as printed before the run). */
  description: string;
  transport: 'stdio' | 'http';
  era: Era;
  protocolVersion: string;
  server: string | undefined;
  /** Legacy HTTP sessions opened. */
  sessions: number | undefined;
  connectMs: number;
}

/** The figures of one target (in compare mode: all its rounds together). */
export interface TargetReport
  extends
    TargetInfo,
    Pick<
      RunResult,
      'plan' | 'stopReason' | 'stopDetail' | 'sent' | 'completed' | 'warmupCompleted' | 'windowMs' | 'sessionReinits'
    > {
  /** Completed requests per second over the window (steady state: warm-up and connect excluded). */
  throughput: number;
  /** Open model only: the rate asked for, so a shortfall is visible next to `throughput`. */
  offeredRate: number | undefined;
  /** Open model only: largest send delay behind schedule, ms. */
  maxSendLagMs: number | undefined;
  latency: LatencySummary;
  /** Open model only: latency from the actual send (what a coordinated-omission-prone tool would report). */
  serviceTime: LatencySummary | undefined;
  outcomes: OutcomeCounts;
  errors: ErrorFigures;
  topErrors: Array<{ message: string; count: number }>;
  correctness: { unmatchedResponses: number; lateResponses: number; invalidAnswers: number; mismatches: number };
  operations: OperationReport[];
  /** Non-empty latency buckets `[lowMs, highMs, count]`. */
  histogram: Array<[number, number, number]>;
  series: SeriesPoint[];
  seriesIntervalMs: number;
  /** The target's process tree (stdio child, `--start` server or `--pid`), when bench could see it. */
  process: ProcessTreeStats | undefined;
  /** Why `process` is missing. */
  processNote: string | undefined;
  generator: GeneratorStats;
}

/** Per-round figures of one target in compare mode. */
export interface RoundFigures {
  label: string;
  throughput: number;
  p50: number;
  p99: number;
  errorRate: number;
  cpuPercent: number | undefined;
}

/** Ratios of a target to the reference (target ÷ reference). */
export interface RatioFigures {
  label: string;
  throughput: number;
  p50: number;
  p99: number;
}

/** The compare section. */
export interface CompareReport {
  reference: string;
  order: string[];
  rounds: Array<{ round: number; results: RoundFigures[]; ratios: RatioFigures[] }>;
  /** Median over rounds of each per-round ratio. */
  median: RatioFigures[];
}

/** The result of one `--assert`. */
export interface AssertionResult {
  expression: string;
  target: string;
  actual: number;
  pass: boolean;
  /** Why the expression could not be evaluated (then `pass` is false). */
  error?: string;
}

/** The whole report. */
export interface BenchReport {
  tool: 'toolgate bench';
  version: string;
  createdAt: string;
  command: string[];
  /** `loadAverageStart`/`loadAverageEnd`: 1, 5 and 15-minute load averages before and after the run. */
  machine: {
    platform: string;
    node: string;
    cpus: number;
    cpuModel: string;
    loadAverageStart: number[];
    loadAverageEnd: number[];
  };
  targets: TargetReport[];
  compare: CompareReport | undefined;
  assertions: AssertionResult[];
  warnings: string[];
}

const us2ms = (us: number): number => Math.round(us) / 1000;

/** Summarises a histogram (µs) into ms figures. */
export function summarizeLatency(h: LatencyHistogram): LatencySummary {
  return {
    count: h.count,
    min: us2ms(h.min),
    mean: us2ms(h.mean),
    stdev: us2ms(h.stdev),
    p50: us2ms(h.percentile(50)),
    p75: us2ms(h.percentile(75)),
    p90: us2ms(h.percentile(90)),
    p95: us2ms(h.percentile(95)),
    p99: us2ms(h.percentile(99)),
    p999: us2ms(h.percentile(99.9)),
    max: us2ms(h.max),
  };
}

function operationReport(label: string, s: OpStats): OperationReport {
  return { label, latency: summarizeLatency(s.latency), outcomes: s.outcomes, errors: errorSummary(s.outcomes) };
}

/** Everything measured about one target, ready to render. */
export interface TargetMeasurement {
  info: TargetInfo;
  run: RunResult;
  process: ProcessTreeStats | undefined;
  processNote: string | undefined;
  generator: GeneratorStats;
}

/** Builds the report section of one target. */
export function targetReport(m: TargetMeasurement): TargetReport {
  const { run } = m;
  const rate = run.plan.ratePerSec;
  const errors = errorSummary(run.overall.outcomes);
  const interval = run.series.intervalMs;
  return {
    ...m.info,
    plan: run.plan,
    stopReason: run.stopReason,
    stopDetail: run.stopDetail,
    sent: run.sent,
    completed: run.completed,
    warmupCompleted: run.warmupCompleted,
    windowMs: Math.round(run.windowMs * 1000) / 1000,
    sessionReinits: run.sessionReinits,
    throughput: Math.round(run.throughput * 100) / 100,
    offeredRate: rate,
    maxSendLagMs: rate === undefined ? undefined : Math.round(run.maxSendLagMs * 1000) / 1000,
    latency: summarizeLatency(run.overall.latency),
    serviceTime: rate === undefined ? undefined : summarizeLatency(run.overall.service),
    outcomes: run.overall.outcomes,
    errors,
    topErrors: run.topErrors,
    correctness: {
      unmatchedResponses: run.unmatchedResponses,
      lateResponses: run.lateResponses,
      invalidAnswers: errors.invalid,
      mismatches: run.unmatchedResponses + errors.invalid,
    },
    operations: [...run.perOp].map(([label, s]) => operationReport(label, s)),
    histogram: run.overall.latency.buckets().map(([lo, hi, c]) => [lo / 1000, hi / 1000, c]),
    series: run.series.snapshot().map((p) => {
      // The last interval ends with the window, not a full interval later: rate it over the part that exists.
      const durationMs = Math.max(1, Math.min(interval, run.windowMs - p.startMs));
      return {
        tMs: p.startMs,
        durationMs: Math.round(durationMs),
        completed: p.completed,
        rps: Math.round((p.completed / durationMs) * 1000 * 100) / 100,
        errors: p.errors,
        p50: us2ms(p.latency.percentile(50)),
        p99: us2ms(p.latency.percentile(99)),
      };
    }),
    seriesIntervalMs: interval,
    process: m.process,
    processNote: m.processNote,
    generator: m.generator,
  };
}

/** The 1, 5 and 15-minute load averages, rounded. */
export function loadAverage(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}

/** Facts about the machine, recorded with every report (figures mean little without them). */
export function machineInfo(loadAverageStart: number[]): BenchReport['machine'] {
  const list = cpus();
  return {
    platform: `${platform()} ${release()}`,
    node: process.version,
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    loadAverageStart,
    loadAverageEnd: loadAverage(),
  };
}

/** Assembles the report. */
export function buildReport(
  command: string[],
  targets: TargetReport[],
  compare: CompareReport | undefined,
  assertions: AssertionResult[],
  warnings: string[],
  loadAverageStart: number[] = loadAverage(),
): BenchReport {
  return {
    tool: 'toolgate bench',
    version: VERSION,
    createdAt: new Date().toISOString(),
    command,
    machine: machineInfo(loadAverageStart),
    targets,
    compare,
    assertions,
    warnings,
  };
}

/** The median of a non-empty list (mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
