import { RemoteError } from '../jsonrpc/peer.js';
import { succeeded, type CheckContext } from './context.js';

/** Seed 002: P99 < 500 ms for simple requests. */
export const PROTOCOL_P99_MS = 500;
/** Seed 000: alert when P95 > 3 s. */
export const TOOL_P95_MS = 3000;
/** Upper bound on the time spent sampling one operation. */
const SAMPLE_BUDGET_MS = 15_000;

/** Latency percentiles of one operation (ms). */
export interface Latency {
  samples: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

/** Runs `op` `samples` times at `concurrency`, bounded by a time budget; JSON-RPC errors count as answered. */
export async function sample(op: () => Promise<unknown>, samples: number, concurrency: number): Promise<Latency> {
  const times: number[] = [];
  let errors = 0;
  let issued = 0;
  const deadline = Date.now() + SAMPLE_BUDGET_MS;
  const worker = async (): Promise<void> => {
    while (issued < samples && Date.now() < deadline) {
      issued++;
      const t0 = performance.now();
      try {
        await op();
      } catch (err) {
        if (!(err instanceof RemoteError)) errors++;
      }
      times.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => worker()));
  times.sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    samples: times.length,
    errors,
    p50: r(percentile(times, 50)),
    p95: r(percentile(times, 95)),
    p99: r(percentile(times, 99)),
  };
}

function show(l: Latency): string {
  return `p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms (${l.samples} samples${l.errors > 0 ? `, ${l.errors} failed` : ''})`;
}

/** Quick performance checks K1–K2. */
export async function runPerformanceChecks(ctx: CheckContext): Promise<void> {
  const { perfSamples: n, perfConcurrency: c } = ctx.options;
  const t = ctx.target;
  const down = t.alive() ? undefined : 'the server is down';
  await ctx.check(
    'TG-CHK-K1',
    async () => {
      const ops: [string, () => Promise<unknown>][] = [];
      if (t.era === 'legacy') ops.push(['ping', () => t.request('ping', {})]);
      if (ctx.tools.length > 0) ops.push(['tools/list', () => t.request('tools/list', {})]);
      for (const [name, op] of ops) {
        const l = await sample(op, n, c);
        ctx.measurements[`${name} latency`] = show(l);
        if (l.p99 > PROTOCOL_P99_MS)
          ctx.fail('TG-CHK-K1', {
            subject: name,
            evidence: `${name}: ${show(l)} at concurrency ${c}; p99 above ${PROTOCOL_P99_MS} ms`,
          });
        if (l.errors > 0)
          ctx.fail('TG-CHK-K1', {
            subject: `${name} errors`,
            severity: 'medium',
            evidence: `${name}: ${l.errors} of ${l.samples} requests failed at concurrency ${c}`,
          });
      }
    },
    down,
  );

  // The fastest read-only tool: the check measures the server's overhead, not a deliberately slow tool.
  const readOnly = ctx.calls
    .filter((r) => r.purpose === 'valid' && succeeded(r))
    .filter((r) =>
      ctx.tools.some(
        (x) => x.name === r.tool && (x['annotations'] as { readOnlyHint?: unknown } | undefined)?.readOnlyHint === true,
      ),
    )
    .sort((a, b) => a.ms - b.ms)[0];
  await ctx.check(
    'TG-CHK-K2',
    async () => {
      if (readOnly === undefined) return;
      const l = await sample(
        () => t.request('tools/call', { name: readOnly.tool, arguments: readOnly.args as Record<string, unknown> }),
        n,
        c,
      );
      ctx.measurements[`tools/call ${readOnly.tool} latency`] = show(l);
      if (l.p95 > TOOL_P95_MS)
        ctx.fail('TG-CHK-K2', {
          subject: readOnly.tool,
          evidence: `tools/call "${readOnly.tool}": ${show(l)} at concurrency ${c}; p95 above ${TOOL_P95_MS} ms`,
        });
    },
    down ?? (readOnly === undefined ? 'no read-only tool answered a valid call' : undefined),
  );
}
