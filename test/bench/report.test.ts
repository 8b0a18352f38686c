import { describe, expect, it } from 'vitest';
import { evaluateAssertions, parseAssertion } from '../../src/bench/assertions.js';
import { renderHtml, escapeHtml } from '../../src/bench/render-html.js';
import { renderJson, renderMarkdown, renderText } from '../../src/bench/render.js';
import { buildReport, median, targetReport, type BenchReport, type CompareReport } from '../../src/bench/report.js';
import type { RunResult } from '../../src/bench/runner.js';
import { MessageCounter, OpStats, TimeSeries } from '../../src/bench/stats.js';

/** A run of 100 requests: latencies 1..100 ms, 2 tool errors, 1 timeout, one of them in a second op. */
function sampleRun(): RunResult {
  const overall = new OpStats();
  const perOp = new Map<string, OpStats>([
    ['echo', new OpStats()],
    ['tools/list', new OpStats()],
  ]);
  const series = new TimeSeries();
  const messages = new MessageCounter();
  for (let i = 1; i <= 100; i++) {
    const outcome =
      i === 50 || i === 60
        ? ({ kind: 'tool_error', message: 'bad <path>' } as const)
        : i === 70
          ? ({ kind: 'timeout' } as const)
          : ({ kind: 'ok' } as const);
    overall.record(outcome, i, i);
    perOp.get(i % 10 === 0 ? 'tools/list' : 'echo')!.record(outcome, i, i);
    series.record(i * 25, outcome.kind !== 'ok', outcome.kind === 'timeout' ? undefined : i * 1000);
    if (outcome.kind === 'tool_error') messages.add(`tool error: ${outcome.message}`);
  }
  return {
    plan: {
      concurrency: 4,
      requests: 100,
      durationMs: undefined,
      warmup: 0,
      ratePerSec: undefined,
      timeoutMs: 1000,
      timeLimitMs: 60_000,
    },
    stopReason: 'completed',
    stopDetail: undefined,
    sent: 100,
    completed: 100,
    warmupCompleted: 0,
    windowMs: 2500,
    throughput: 40,
    overall,
    perOp,
    series,
    topErrors: messages.top(),
    maxSendLagMs: 0,
    unmatchedResponses: 1,
    lateResponses: 0,
    sessionReinits: 0,
  };
}

function sampleReport(labels = ['direct'], compare?: CompareReport): BenchReport {
  const targets = labels.map((label) =>
    targetReport({
      info: {
        label,
        description: `stdio child process: node echo.mjs <${label}>`,
        transport: 'stdio',
        era: 'legacy',
        protocolVersion: '2025-11-25',
        server: 'echo 1.0',
        sessions: undefined,
        connectMs: 12,
      },
      run: sampleRun(),
      process: {
        rootPid: 1,
        wallMs: 2500,
        cpuMs: 500,
        cpuPercent: 20,
        peakRssBytes: 50 * 2 ** 20,
        endRssBytes: 40 * 2 ** 20,
        maxProcesses: 2,
        samples: 5,
      },
      processNote: undefined,
      generator: { cpuMs: 100, cpuPercent: 4, loopDelayP50Ms: 0.1, loopDelayP99Ms: 1, loopDelayMaxMs: 2, warnings: [] },
    }),
  );
  return buildReport(['toolgate', 'bench', '--server', 'node echo.mjs'], targets, compare, [], []);
}

describe('report model', () => {
  it('summarises latency, outcomes, correctness and the time series', () => {
    const t = sampleReport().targets[0]!;
    expect(t.latency.count).toBe(99);
    expect(t.latency.min).toBe(1);
    expect(t.latency.max).toBe(100);
    expect(t.latency.p50).toBeCloseTo(50, 0);
    expect(t.outcomes).toMatchObject({ total: 100, ok: 97, toolErrors: 2, timeouts: 1 });
    expect(t.errors.errorRate).toBeCloseTo(0.03, 10);
    expect(t.errors.toolErrorRate).toBeCloseTo(0.02, 10);
    expect(t.correctness).toEqual({ unmatchedResponses: 1, lateResponses: 0, invalidAnswers: 0, mismatches: 1 });
    expect(t.operations.map((o) => [o.label, o.outcomes.total])).toEqual([
      ['echo', 90],
      ['tools/list', 10],
    ]);
    expect(t.series.reduce((a, p) => a + p.completed, 0)).toBe(100);
    // Completions at 25 ms … 2500 ms in a 2500 ms window: 39 and 40 in the full seconds, 21 in the last half second.
    expect(t.series.map((p) => [p.durationMs, p.completed, p.rps])).toEqual([
      [1000, 39, 39],
      [1000, 40, 40],
      [500, 21, 42],
    ]);
    expect(t.histogram.reduce((a, [, , c]) => a + c, 0)).toBe(99);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('keeps the time series bounded by merging neighbours on long runs', () => {
    const s = new TimeSeries(1000);
    for (let t = 0; t < 1300_000; t += 500) s.record(t, false, 1000);
    expect(s.snapshot().length).toBeLessThanOrEqual(600);
    expect(s.intervalMs).toBe(4000);
    expect(s.snapshot().reduce((a, p) => a + p.completed, 0)).toBe(2600);
  });
});

describe('renderers', () => {
  it('prints a terminal summary with every table, notes and the top errors', () => {
    const text = renderText(sampleReport());
    expect(text).toContain('Throughput and latency');
    expect(text).toContain('Outcomes');
    expect(text).toContain('Resources');
    expect(text).toContain('Operations (direct)');
    expect(text).toContain('1 correctness failure(s): 1 response(s) matched no request');
    expect(text).toContain('2× tool error: bad <path>');
  });

  it('writes Markdown tables with escaped cells', () => {
    const md = renderMarkdown(sampleReport());
    expect(md).toContain('# toolgate bench report');
    expect(md).toContain('| target | requests | req/s |');
    expect(md).toMatch(/\| direct \| 100 \| 40\.0 \|/);
    expect(md).toContain('`toolgate bench --server "node echo.mjs"`');
  });

  it('writes a self-contained HTML report: inline SVG charts, escaped text, no script and no external resource', () => {
    const html = renderHtml(sampleReport());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg /g)?.length).toBe(3); // histogram, throughput over time, latency over time
    expect(html).toContain('aria-label="latency histogram of direct"');
    expect(html).toContain('bad &lt;path&gt;');
    expect(html).toContain('&lt;direct&gt;');
    expect(html).not.toMatch(/<script|https?:\/\/|src=|href=/i);
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('writes JSON with stable fields and no NaN', () => {
    const parsed = JSON.parse(renderJson(sampleReport())) as BenchReport;
    expect(parsed.tool).toBe('toolgate bench');
    expect(parsed.targets[0]!.latency.p99).toBeGreaterThan(0);
    expect(parsed.machine.cpus).toBeGreaterThan(0);
  });

  it('shows compare ratios and rounds', () => {
    const compare: CompareReport = {
      reference: 'direct',
      order: ['direct', 'gateway'],
      rounds: [1, 2, 3].map((round) => ({
        round,
        results: [
          { label: 'direct', throughput: 1000, p50: 1, p99: 2, errorRate: 0, cpuPercent: 50 },
          { label: 'gateway', throughput: 500 + round * 100, p50: 2, p99: 5, errorRate: 0, cpuPercent: 80 },
        ],
        ratios: [{ label: 'gateway', throughput: (500 + round * 100) / 1000, p50: 2, p99: 2.5 }],
      })),
      median: [{ label: 'gateway', throughput: 0.7, p50: 2, p99: 2.5 }],
    };
    const report = sampleReport(['direct', 'gateway'], compare);
    const md = renderMarkdown(report);
    expect(md).toContain('## Compare (median of 3 rounds, ratios to direct)');
    expect(md).toMatch(/\| gateway \| 700 \| 2\.00ms \| 5\.00ms \| .* \| 0\.70× \| 2\.00× \| 2\.50× \|/);
    expect(md).toContain('| direct | 1000 | 1.00ms | 2.00ms |');
    expect(md).toContain('## Rounds (order direct → gateway)');
    expect(renderHtml(report)).toContain('aria-label="median throughput per target"');
  });
});

describe('--assert', () => {
  it('parses metrics with units into base units', () => {
    expect(parseAssertion('p99<200ms')).toMatchObject({ metric: 'p99', op: '<', value: 200 });
    expect(parseAssertion('p99.9 <= 1.5s')).toMatchObject({ metric: 'p99.9', op: '<=', value: 1500 });
    expect(parseAssertion('p999<500us')).toMatchObject({ metric: 'p99.9', value: 0.5 });
    expect(parseAssertion('error_rate<1%')).toMatchObject({ metric: 'error_rate', value: 0.01 });
    expect(parseAssertion('error_rate<1')).toMatchObject({ value: 0.01 });
    expect(parseAssertion('throughput>=500/s')).toMatchObject({ metric: 'throughput', op: '>=', value: 500 });
    expect(parseAssertion('rss<256MB')).toMatchObject({ value: 256 * 2 ** 20 });
    expect(parseAssertion('gateway:p99_ratio<1.5')).toMatchObject({
      target: 'gateway',
      metric: 'p99_ratio',
      value: 1.5,
    });
    expect(parseAssertion('mismatches==0')).toMatchObject({ metric: 'mismatches', op: '==', value: 0 });
  });

  it('rejects unknown metrics, bad units and bad syntax before any load is sent', () => {
    expect(() => parseAssertion('latency<5')).toThrow(/unknown metric "latency"/);
    expect(() => parseAssertion('p99<5kg')).toThrow(/not a time unit/);
    expect(() => parseAssertion('error_rate<5ms')).toThrow(/percentage/);
    expect(() => parseAssertion('p99 is low')).toThrow(/expected METRIC OP VALUE/);
  });

  it('evaluates per target and reports actual values', () => {
    const report = sampleReport();
    const results = evaluateAssertions(
      [
        'p99<200ms',
        'p50>60ms',
        'error_rate<5%',
        'error_rate<1%',
        'mismatches==0',
        'cpu<50%',
        'throughput>=40',
        'nobody:p99<1s',
        'p99_ratio<2',
      ].map(parseAssertion),
      report,
    );
    expect(results.map((r) => r.pass)).toEqual([true, false, true, false, false, true, true, false, false]);
    expect(results[4]!.actual).toBe(1);
    expect(results[7]!.error).toMatch(/no target labelled "nobody"/);
    expect(results[8]!.error).toMatch(/needs --compare/);
  });
});
