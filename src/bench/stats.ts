/**
 * What a run counts: latency per operation, outcomes by class, a per-interval time series, top error messages.
 * Recording is O(1) and allocation-free on the ok path, so the generator measures the target, not itself.
 */
import { LatencyHistogram } from './histogram.js';
import type { CallOutcome } from './target.js';

/** Outcome counts of a set of requests. */
export interface OutcomeCounts {
  /** Requests that got an answer or gave up (everything below added up). */
  total: number;
  ok: number;
  /** `tools/call` results with `isError: true`. */
  toolErrors: number;
  /** JSON-RPC error responses by code. */
  rpcErrors: Record<string, number>;
  /** No usable answer, by reason (`http_503`, `ECONNRESET`, `process_exited`, …). */
  transportErrors: Record<string, number>;
  timeouts: number;
  /** Answers that failed the correctness check, by reason. */
  invalid: Record<string, number>;
}

/** An empty `OutcomeCounts`. */
export function emptyOutcomes(): OutcomeCounts {
  return { total: 0, ok: 0, toolErrors: 0, rpcErrors: {}, transportErrors: {}, timeouts: 0, invalid: {} };
}

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

/** Adds one outcome. */
export function countOutcome(c: OutcomeCounts, o: CallOutcome): void {
  c.total++;
  switch (o.kind) {
    case 'ok':
      c.ok++;
      return;
    case 'tool_error':
      c.toolErrors++;
      return;
    case 'rpc_error':
      bump(c.rpcErrors, String(o.code));
      return;
    case 'transport_error':
      bump(c.transportErrors, o.reason);
      return;
    case 'timeout':
      c.timeouts++;
      return;
    case 'invalid':
      bump(c.invalid, o.reason);
      return;
  }
}

/** Adds `b` into `a`. */
export function mergeOutcomes(a: OutcomeCounts, b: OutcomeCounts): void {
  a.total += b.total;
  a.ok += b.ok;
  a.toolErrors += b.toolErrors;
  a.timeouts += b.timeouts;
  for (const [k, v] of Object.entries(b.rpcErrors)) bump(a.rpcErrors, k, v);
  for (const [k, v] of Object.entries(b.transportErrors)) bump(a.transportErrors, k, v);
  for (const [k, v] of Object.entries(b.invalid)) bump(a.invalid, k, v);
}

const sum = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + b, 0);

/** Derived error figures of an `OutcomeCounts` (rates are fractions 0–1). */
export function errorSummary(c: OutcomeCounts): {
  errors: number;
  errorRate: number;
  toolErrorRate: number;
  rpcErrorRate: number;
  transportErrorRate: number;
  timeoutRate: number;
  invalid: number;
} {
  const rpc = sum(c.rpcErrors);
  const transport = sum(c.transportErrors);
  const invalid = sum(c.invalid);
  const rate = (n: number): number => (c.total === 0 ? 0 : n / c.total);
  return {
    errors: c.total - c.ok,
    errorRate: rate(c.total - c.ok),
    toolErrorRate: rate(c.toolErrors),
    rpcErrorRate: rate(rpc),
    transportErrorRate: rate(transport),
    timeoutRate: rate(c.timeouts),
    invalid,
  };
}

/** Statistics of one operation (or of all of them). */
export class OpStats {
  /** Latency of every answered request (ok, tool error, JSON-RPC error, invalid), from the intended send time. */
  readonly latency = new LatencyHistogram();
  /** Service time (from the actual send); differs from `latency` only in `--rate` mode when the target falls behind. */
  readonly service = new LatencyHistogram();
  readonly outcomes = emptyOutcomes();

  /** Records one finished request; `latencyMs`/`serviceMs` are ignored when nothing answered. */
  record(o: CallOutcome, latencyMs: number, serviceMs: number): void {
    countOutcome(this.outcomes, o);
    if (o.kind === 'timeout' || o.kind === 'transport_error') return;
    this.latency.record(latencyMs * 1000);
    this.service.record(serviceMs * 1000);
  }

  /** Adds another `OpStats` into this one. */
  merge(other: OpStats): void {
    this.latency.merge(other.latency);
    this.service.merge(other.service);
    mergeOutcomes(this.outcomes, other.outcomes);
  }
}

/** One interval of the time series. */
export interface IntervalPoint {
  /** Start of the interval, ms since the measurement started. */
  startMs: number;
  completed: number;
  errors: number;
  latency: LatencyHistogram;
}

/** Precision of per-interval histograms: 16 sub-buckets per power of two (±3 %) keeps each point ~4 KB. */
const SERIES_SUB_BUCKET_BITS = 5;

/** Most points kept; past it, neighbours merge pairwise (the interval doubles), so long runs stay small. */
export const MAX_SERIES_POINTS = 600;

/** Completions per interval, for throughput/latency-over-time charts. */
export class TimeSeries {
  private points: IntervalPoint[] = [];
  private interval: number;

  constructor(intervalMs = 1000) {
    this.interval = intervalMs;
  }

  /** Current interval length in ms. */
  get intervalMs(): number {
    return this.interval;
  }

  /** Records one completion `atMs` after the measurement started. */
  record(atMs: number, error: boolean, latencyUs: number | undefined): void {
    const p = this.pointAt(atMs);
    p.completed++;
    if (error) p.errors++;
    if (latencyUs !== undefined) p.latency.record(latencyUs);
  }

  /** Appends another series shifted by `offsetMs` (compare mode: one target's rounds back to back). */
  append(other: TimeSeries, offsetMs: number): void {
    for (const q of other.points) {
      const p = this.pointAt(offsetMs + q.startMs);
      p.completed += q.completed;
      p.errors += q.errors;
      p.latency.merge(q.latency);
    }
  }

  private pointAt(atMs: number): IntervalPoint {
    let index = Math.max(0, Math.floor(atMs / this.interval));
    while (index >= MAX_SERIES_POINTS) {
      this.coarsen();
      index = Math.floor(atMs / this.interval);
    }
    while (this.points.length <= index) {
      this.points.push({
        startMs: this.points.length * this.interval,
        completed: 0,
        errors: 0,
        latency: new LatencyHistogram(SERIES_SUB_BUCKET_BITS),
      });
    }
    return this.points[index]!;
  }

  /** The points so far. */
  snapshot(): readonly IntervalPoint[] {
    return this.points;
  }

  private coarsen(): void {
    const merged: IntervalPoint[] = [];
    for (let i = 0; i < this.points.length; i += 2) {
      const a = this.points[i]!;
      const b = this.points[i + 1];
      if (b !== undefined) {
        a.completed += b.completed;
        a.errors += b.errors;
        a.latency.merge(b.latency);
      }
      a.startMs = (i / 2) * this.interval * 2;
      merged.push(a);
    }
    this.points = merged;
    this.interval *= 2;
  }
}

/** Counts distinct error messages, keeping at most `limit` of them (the rest are summed under "(other)"). */
export class MessageCounter {
  private readonly counts = new Map<string, number>();
  private other = 0;

  constructor(private readonly limit = 20) {}

  /** Counts one message. */
  add(message: string): void {
    const c = this.counts.get(message);
    if (c !== undefined) this.counts.set(message, c + 1);
    else if (this.counts.size < this.limit) this.counts.set(message, 1);
    else this.other++;
  }

  /** Messages by count, most frequent first. */
  top(): Array<{ message: string; count: number }> {
    const list = [...this.counts].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count);
    if (this.other > 0) list.push({ message: '(other messages)', count: this.other });
    return list;
  }
}
