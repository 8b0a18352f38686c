/**
 * `--assert` for CI: `p99<200ms`, `error_rate<1%`, `throughput>=500`, `mismatches==0`, and in compare mode
 * `p99_ratio<1.5` (median ratio to the reference target). A `LABEL:` prefix limits an assertion to one target.
 * Assertions are parsed before the run, so a typo fails at once instead of after minutes of load.
 */
import { GatewayError } from '../errors.js';
import type { AssertionResult, BenchReport, TargetReport } from './report.js';

type Op = '<' | '<=' | '>' | '>=' | '==';

/** A parsed assertion. */
export interface Assertion {
  expression: string;
  target: string | undefined;
  metric: string;
  op: Op;
  /** Threshold in the metric's base unit (ms, fraction, req/s, count, %, bytes). */
  value: number;
}

const LATENCY = new Set(['min', 'mean', 'p50', 'p75', 'p90', 'p95', 'p99', 'p99.9', 'p999', 'max']);
const RATES = new Set(['error_rate', 'tool_error_rate', 'rpc_error_rate', 'transport_error_rate', 'timeout_rate']);
const COUNTS = new Set(['errors', 'mismatches', 'timeouts', 'unmatched']);
const RATIOS = new Set(['throughput_ratio', 'p50_ratio', 'p99_ratio']);
const OTHER = new Set(['throughput', 'rps', 'cpu', 'rss']);

const TIME_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, us: 0.001, µs: 0.001 };
const SIZE_UNITS: Record<string, number> = { '': 2 ** 20, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30 };

/** Metric names `--assert` accepts, for the help text. */
export const ASSERT_METRICS = [...LATENCY, ...RATES, ...COUNTS, ...OTHER, ...RATIOS];

function bad(expression: string, why: string): GatewayError {
  return new GatewayError('TG_CLI_USAGE', `--assert "${expression}": ${why}`);
}

/** Parses one `--assert` expression. Throws `TG_CLI_USAGE` naming what is wrong. */
export function parseAssertion(expression: string): Assertion {
  const m =
    /^\s*(?:([A-Za-z][\w.-]*):)?\s*([a-z_][a-z_0-9.]*)\s*(<=|>=|==|<|>)\s*(\d+(?:\.\d+)?)\s*([a-zµ%/]*)\s*$/i.exec(
      expression,
    );
  if (m === null) throw bad(expression, 'expected METRIC OP VALUE, e.g. "p99<200ms" or "error_rate<1%"');
  const [, target, rawMetric, op, num, rawUnit] = m;
  const metric = rawMetric!.toLowerCase() === 'p999' ? 'p99.9' : rawMetric!.toLowerCase();
  const unit = rawUnit!.toLowerCase();
  let value = Number(num);
  if (LATENCY.has(metric)) {
    const f = TIME_UNITS[unit];
    if (f === undefined) throw bad(expression, `unit "${rawUnit}" is not a time unit (us, ms, s)`);
    value *= f;
  } else if (RATES.has(metric)) {
    if (unit !== '' && unit !== '%') throw bad(expression, 'rates take a percentage, e.g. "error_rate<1%"');
    value /= 100; // a bare number is a percentage too: "error_rate<1" means under 1 %
  } else if (metric === 'rss') {
    const f = SIZE_UNITS[unit];
    if (f === undefined) throw bad(expression, `unit "${rawUnit}" is not a size unit (KB, MB, GB)`);
    value *= f;
  } else if (metric === 'cpu') {
    if (unit !== '' && unit !== '%') throw bad(expression, 'cpu is a percentage of one core, e.g. "cpu<150%"');
  } else if (COUNTS.has(metric) || RATIOS.has(metric) || metric === 'throughput' || metric === 'rps') {
    if (unit !== '' && !(unit === '/s' && (metric === 'throughput' || metric === 'rps'))) {
      throw bad(expression, `${metric} takes a plain number`);
    }
  } else {
    throw bad(expression, `unknown metric "${rawMetric}"; known: ${ASSERT_METRICS.join(', ')}`);
  }
  return { expression, target, metric, op: op as Op, value };
}

function holds(actual: number, op: Op, value: number): boolean {
  // Compare at a precision finer than any reported figure so "p99<=12.3ms" is not broken by float noise.
  const a = Math.round(actual * 1e9) / 1e9;
  const v = Math.round(value * 1e9) / 1e9;
  switch (op) {
    case '<':
      return a < v;
    case '<=':
      return a <= v;
    case '>':
      return a > v;
    case '>=':
      return a >= v;
    case '==':
      return a === v;
  }
}

const NO_PROCESS = 'no process figures for this target (stdio, --start or --pid gives them)';

/** How each per-target metric is read from a report (latencies are looked up by name). */
const READERS: Record<string, (t: TargetReport) => number | undefined> = {
  error_rate: (t) => t.errors.errorRate,
  tool_error_rate: (t) => t.errors.toolErrorRate,
  rpc_error_rate: (t) => t.errors.rpcErrorRate,
  transport_error_rate: (t) => t.errors.transportErrorRate,
  timeout_rate: (t) => t.errors.timeoutRate,
  errors: (t) => t.errors.errors,
  timeouts: (t) => t.outcomes.timeouts,
  mismatches: (t) => t.correctness.mismatches,
  unmatched: (t) => t.correctness.unmatchedResponses,
  throughput: (t) => t.throughput,
  rps: (t) => t.throughput,
  cpu: (t) => t.process?.cpuPercent,
  rss: (t) => t.process?.peakRssBytes,
};

/** The value of a per-target metric, or why there is none. */
function metricOf(t: TargetReport, metric: string): number | string {
  if (LATENCY.has(metric)) {
    const key = metric === 'p99.9' ? 'p999' : metric;
    return t.latency[key as keyof TargetReport['latency']];
  }
  const read = READERS[metric];
  if (read === undefined) return `unknown metric ${metric}`;
  return read(t) ?? NO_PROCESS;
}

/** Evaluates assertions against a finished report; one result per (assertion, target) pair. */
export function evaluateAssertions(assertions: readonly Assertion[], report: BenchReport): AssertionResult[] {
  const results: AssertionResult[] = [];
  const labels = report.targets.map((t) => t.label);
  for (const a of assertions) {
    if (a.target !== undefined && !labels.includes(a.target)) {
      results.push({
        expression: a.expression,
        target: a.target,
        actual: Number.NaN,
        pass: false,
        error: `no target labelled "${a.target}" (have: ${labels.join(', ')})`,
      });
      continue;
    }
    if (RATIOS.has(a.metric)) {
      const compare = report.compare;
      if (compare === undefined) {
        results.push({
          expression: a.expression,
          target: a.target ?? '-',
          actual: Number.NaN,
          pass: false,
          error: `${a.metric} needs --compare`,
        });
        continue;
      }
      for (const r of compare.median) {
        if (a.target !== undefined && r.label !== a.target) continue;
        const key = a.metric.replace('_ratio', '') as 'throughput' | 'p50' | 'p99';
        results.push({ expression: a.expression, target: r.label, actual: r[key], pass: holds(r[key], a.op, a.value) });
      }
      continue;
    }
    for (const t of report.targets) {
      if (a.target !== undefined && t.label !== a.target) continue;
      const actual = metricOf(t, a.metric);
      if (typeof actual === 'string')
        results.push({ expression: a.expression, target: t.label, actual: Number.NaN, pass: false, error: actual });
      else results.push({ expression: a.expression, target: t.label, actual, pass: holds(actual, a.op, a.value) });
    }
  }
  return results;
}
