/**
 * The report's tables as rows of strings, shared by the text, Markdown and HTML renderers so every format shows
 * the same figures with the same rounding.
 */
import { formatMs } from './parse.js';
import { median, type BenchReport, type TargetReport } from './report.js';
import type { OutcomeCounts } from './stats.js';

/** A table: header cells and rows of cells. */
export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
}

/** Formats a fraction as a percentage. */
export function pct(fraction: number): string {
  if (fraction === 0) return '0%';
  if (fraction < 0.001) return '<0.1%';
  return `${(fraction * 100).toFixed(fraction < 0.1 ? 2 : 1)}%`;
}

/** Formats bytes as MB. */
export function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** Formats a ratio (`1.23×`). */
export function ratio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : '–';
}

/** Formats a rate in req/s. */
export function rps(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

function joinCounts(map: Record<string, number>, prefix = ''): string {
  const parts = Object.entries(map).map(([k, v]) => `${prefix}${k}: ${v}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

/** One line per outcome class, for a target's outcomes. */
export function outcomeCells(o: OutcomeCounts): string[] {
  return [
    String(o.ok),
    String(o.toolErrors),
    joinCounts(o.rpcErrors),
    joinCounts(o.transportErrors),
    String(o.timeouts),
    joinCounts(o.invalid),
  ];
}

/** Throughput and latency per target. */
export function latencyTable(targets: readonly TargetReport[]): Table {
  return {
    title: 'Throughput and latency',
    headers: [
      'target',
      'requests',
      'req/s',
      'min',
      'mean',
      'p50',
      'p75',
      'p90',
      'p95',
      'p99',
      'p99.9',
      'max',
      'errors',
    ],
    rows: targets.map((t) => [
      t.label,
      String(t.completed),
      rps(t.throughput),
      ...[
        t.latency.min,
        t.latency.mean,
        t.latency.p50,
        t.latency.p75,
        t.latency.p90,
        t.latency.p95,
        t.latency.p99,
        t.latency.p999,
        t.latency.max,
      ].map(formatMs),
      pct(t.errors.errorRate),
    ]),
  };
}

/** Outcomes by class per target. */
export function outcomeTable(targets: readonly TargetReport[]): Table {
  return {
    title: 'Outcomes',
    headers: [
      'target',
      'ok',
      'tool errors',
      'JSON-RPC errors (code: n)',
      'transport errors',
      'timeouts',
      'invalid answers',
      'unmatched responses',
    ],
    rows: targets.map((t) => [t.label, ...outcomeCells(t.outcomes), String(t.correctness.unmatchedResponses)]),
  };
}

/** Per-operation figures of one target. */
export function operationsTable(t: TargetReport): Table {
  return {
    title: `Operations (${t.label})`,
    headers: ['operation', 'requests', 'p50', 'p95', 'p99', 'max', 'ok', 'errors'],
    rows: t.operations.map((o) => [
      o.label,
      String(o.outcomes.total),
      formatMs(o.latency.p50),
      formatMs(o.latency.p95),
      formatMs(o.latency.p99),
      formatMs(o.latency.max),
      String(o.outcomes.ok),
      pct(o.errors.errorRate),
    ]),
  };
}

/** Resource use of targets and of the generator. */
export function resourceTable(targets: readonly TargetReport[]): Table {
  return {
    title: 'Resources',
    headers: [
      'target',
      'target CPU (1 core = 100%)',
      'target peak RSS',
      'processes',
      'generator CPU',
      'generator loop delay p99',
    ],
    rows: targets.map((t) => [
      t.label,
      t.process === undefined ? '–' : `${t.process.cpuPercent.toFixed(0)}%`,
      t.process === undefined ? '–' : mb(t.process.peakRssBytes),
      t.process === undefined ? '–' : String(t.process.maxProcesses),
      `${t.generator.cpuPercent.toFixed(0)}%`,
      formatMs(t.generator.loopDelayP99Ms),
    ]),
  };
}

/** The compare summary: per target the median figures and the median ratios to the reference. */
export function compareTable(report: BenchReport): Table | undefined {
  const c = report.compare;
  if (c === undefined) return undefined;
  const ratios = new Map(c.median.map((r) => [r.label, r]));
  return {
    title: `Compare (median of ${c.rounds.length} rounds, ratios to ${c.reference})`,
    headers: [
      'target',
      'req/s',
      'p50',
      'p99',
      'errors',
      'target CPU',
      'target peak RSS',
      'req/s ratio',
      'p50 ratio',
      'p99 ratio',
    ],
    rows: report.targets.map((t) => {
      const rounds = c.rounds.map((r) => r.results.find((x) => x.label === t.label)).filter((x) => x !== undefined);
      const med = (f: (x: (typeof rounds)[number]) => number): number => median(rounds.map(f));
      const r = ratios.get(t.label);
      return [
        t.label,
        rps(med((x) => x.throughput)),
        formatMs(med((x) => x.p50)),
        formatMs(med((x) => x.p99)),
        pct(t.errors.errorRate),
        t.process === undefined ? '–' : `${t.process.cpuPercent.toFixed(0)}%`,
        t.process === undefined ? '–' : mb(t.process.peakRssBytes),
        r === undefined ? '1.00× (ref)' : ratio(r.throughput),
        r === undefined ? '1.00× (ref)' : ratio(r.p50),
        r === undefined ? '1.00× (ref)' : ratio(r.p99),
      ];
    }),
  };
}

/** Every round of a compare run. */
export function roundsTable(report: BenchReport): Table | undefined {
  const c = report.compare;
  if (c === undefined) return undefined;
  const rows: string[][] = [];
  for (const r of c.rounds) {
    for (const x of r.results) {
      const q = r.ratios.find((y) => y.label === x.label);
      rows.push([
        String(r.round),
        x.label,
        rps(x.throughput),
        formatMs(x.p50),
        formatMs(x.p99),
        pct(x.errorRate),
        q === undefined ? '(ref)' : ratio(q.throughput),
        q === undefined ? '(ref)' : ratio(q.p99),
      ]);
    }
  }
  return {
    title: `Rounds (order ${c.order.join(' → ')})`,
    headers: ['round', 'target', 'req/s', 'p50', 'p99', 'errors', 'req/s ratio', 'p99 ratio'],
    rows,
  };
}

/** One sentence describing how a target was measured. */
export function setupLine(t: TargetReport): string {
  const p = t.plan;
  const amount = [
    p.requests !== undefined ? `${p.requests} requests` : undefined,
    p.durationMs !== undefined ? `${formatMs(p.durationMs)}` : undefined,
  ]
    .filter((x) => x !== undefined)
    .join(' / ');
  const model = p.ratePerSec === undefined ? 'closed model' : `open model at ${p.ratePerSec} req/s`;
  const sessions =
    t.sessions === undefined
      ? ''
      : t.sessions === 0
        ? ', no session id (stateless server)'
        : `, ${t.sessions} session(s)`;
  const era = `${t.era} era (${t.protocolVersion})${sessions}`;
  return `${t.label}: ${t.description} — ${era}${t.server !== undefined ? `, server ${t.server}` : ''}; ${p.concurrency} concurrent, ${amount}, ${p.warmup} warm-up, ${model}, timeout ${formatMs(p.timeoutMs)}, connect ${formatMs(t.connectMs)}`;
}
