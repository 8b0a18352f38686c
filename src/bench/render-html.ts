/**
 * The HTML report: one self-contained file, charts drawn as inline SVG (no script, no CDN, no network), so it
 * opens anywhere and can be attached to a CI run as is.
 */
import { formatMs } from './parse.js';
import { median, type BenchReport, type TargetReport } from './report.js';
import { reportNotes, reportTables } from './render.js';
import { rps, type Table } from './tables.js';

const W = 720;
const H = 240;
const PAD = { left: 56, right: 16, top: 16, bottom: 36 };
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const n = (v: number): string => (Math.round(v * 10) / 10).toString();

function axisFrame(
  xTicks: Array<[number, string]>,
  yTicks: Array<[number, string]>,
  xLabel: string,
  yLabel: string,
): string {
  const parts: string[] = [];
  const x0 = PAD.left;
  const y0 = H - PAD.bottom;
  parts.push(`<line x1="${x0}" y1="${y0}" x2="${W - PAD.right}" y2="${y0}" class="axis"/>`);
  parts.push(`<line x1="${x0}" y1="${PAD.top}" x2="${x0}" y2="${y0}" class="axis"/>`);
  for (const [x, label] of xTicks) {
    parts.push(
      `<line x1="${n(x)}" y1="${y0}" x2="${n(x)}" y2="${y0 + 4}" class="axis"/><text x="${n(x)}" y="${y0 + 16}" text-anchor="middle">${escapeHtml(label)}</text>`,
    );
  }
  for (const [y, label] of yTicks) {
    parts.push(
      `<line x1="${x0 - 4}" y1="${n(y)}" x2="${W - PAD.right}" y2="${n(y)}" class="grid"/><text x="${x0 - 6}" y="${n(y + 4)}" text-anchor="end">${escapeHtml(label)}</text>`,
    );
  }
  parts.push(
    `<text x="${(x0 + W - PAD.right) / 2}" y="${H - 4}" text-anchor="middle" class="label">${escapeHtml(xLabel)}</text>`,
  );
  parts.push(
    `<text x="12" y="${(PAD.top + y0) / 2}" text-anchor="middle" class="label" transform="rotate(-90 12 ${(PAD.top + y0) / 2})">${escapeHtml(yLabel)}</text>`,
  );
  return parts.join('');
}

function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = 0; v <= max * 1.0001; v += step) ticks.push(v);
  return ticks;
}

/** Latency histogram on a logarithmic time axis, with p50/p99 markers. */
export function histogramSvg(t: TargetReport): string {
  const buckets = t.histogram;
  if (buckets.length === 0) return '<p>No answered requests: no latency histogram.</p>';
  const lo = Math.max(0.001, buckets[0]![0]);
  const hi = Math.max(lo * 1.5, buckets[buckets.length - 1]![1]);
  const bins = 48;
  const logLo = Math.log10(lo);
  const span = Math.log10(hi) - logLo;
  const counts = new Array<number>(bins).fill(0);
  for (const [a, b, c] of buckets) {
    const mid = Math.max(lo, (a + b) / 2);
    const i = Math.min(bins - 1, Math.max(0, Math.floor(((Math.log10(mid) - logLo) / span) * bins)));
    counts[i]! += c;
  }
  const maxCount = Math.max(...counts);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const xOf = (ms: number): number => PAD.left + ((Math.log10(Math.max(lo, ms)) - logLo) / span) * plotW;
  const yOf = (c: number): number => H - PAD.bottom - (c / maxCount) * plotH;
  const bars = counts
    .map((c, i) => {
      if (c === 0) return '';
      const x = PAD.left + (i / bins) * plotW;
      return `<rect x="${n(x + 0.5)}" y="${n(yOf(c))}" width="${n(plotW / bins - 1)}" height="${n(H - PAD.bottom - yOf(c))}" class="bar"><title>${c} requests</title></rect>`;
    })
    .join('');
  const xTicks: Array<[number, string]> = [];
  for (let e = Math.floor(logLo); e <= Math.ceil(logLo + span); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) xTicks.push([xOf(v), formatMs(v)]);
    }
  }
  const yTicks = niceTicks(maxCount).map((v): [number, string] => [yOf(v), String(Math.round(v))]);
  const markers = (
    [
      ['p50', t.latency.p50],
      ['p99', t.latency.p99],
    ] as const
  )
    .map(([name, v], i) => {
      const x = xOf(v);
      // Labels near the right edge go left of their line; p99 sits one line lower so the two never overlap.
      const label = x > W - 120 ? `x="${n(x - 3)}" text-anchor="end"` : `x="${n(x + 3)}"`;
      return `<line x1="${n(x)}" y1="${PAD.top}" x2="${n(x)}" y2="${H - PAD.bottom}" class="marker"/><text ${label} y="${PAD.top + 10 + i * 12}" class="marker-label">${name} ${escapeHtml(formatMs(v))}</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="latency histogram of ${escapeHtml(t.label)}">${axisFrame(xTicks, yTicks, 'latency (log scale)', 'requests')}${bars}${markers}</svg>`;
}

function polyline(points: Array<[number, number]>, color: string, dashed = false): string {
  if (points.length === 0) return '';
  const d = points.map(([x, y]) => `${n(x)},${n(y)}`).join(' ');
  return `<polyline points="${d}" fill="none" stroke="${color}" stroke-width="1.8"${dashed ? ' stroke-dasharray="4 3"' : ''}/>`;
}

/** Throughput (left) and latency p50/p99 (second chart) over time. */
export function seriesSvgs(t: TargetReport): string {
  // A last interval shorter than a quarter of the others has too few samples to plot without a fake spike.
  const s = t.series.filter((p, i) => i < t.series.length - 1 || p.durationMs >= t.seriesIntervalMs / 4);
  if (s.length < 2) return '<p>The run was too short for a time series (one interval).</p>';
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const tMax = s[s.length - 1]!.tMs + t.seriesIntervalMs;
  const xOf = (ms: number): number => PAD.left + (ms / tMax) * plotW;
  const xTicks = niceTicks(tMax / 1000, 6).map((sec): [number, string] => [xOf(sec * 1000), `${sec}s`]);
  const mid = (p: (typeof s)[number]): number => p.tMs + t.seriesIntervalMs / 2;

  const maxRps = Math.max(...s.map((p) => p.rps), 1);
  const yR = (v: number): number => H - PAD.bottom - (v / maxRps) * plotH;
  const rpsChart = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="throughput over time">${axisFrame(
    xTicks,
    niceTicks(maxRps).map((v): [number, string] => [yR(v), rps(v)]),
    'time since measurement start',
    'req/s',
  )}${polyline(
    s.map((p) => [xOf(mid(p)), yR(p.rps)]),
    COLORS[0]!,
  )}</svg>`;

  const maxLat = Math.max(...s.map((p) => p.p99), 0.001);
  const yL = (v: number): number => H - PAD.bottom - (v / maxLat) * plotH;
  const latChart = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="latency over time">${axisFrame(
    xTicks,
    niceTicks(maxLat).map((v): [number, string] => [yL(v), formatMs(v)]),
    'time since measurement start',
    'latency',
  )}${polyline(
    s.map((p) => [xOf(mid(p)), yL(p.p50)]),
    COLORS[0]!,
  )}${polyline(
    s.map((p) => [xOf(mid(p)), yL(p.p99)]),
    COLORS[1]!,
    true,
  )}<text x="${W - PAD.right - 110}" y="${PAD.top + 10}" class="legend" fill="${COLORS[0]}">— p50</text><text x="${W - PAD.right - 60}" y="${PAD.top + 10}" class="legend" fill="${COLORS[1]}">- - p99</text></svg>`;
  return rpsChart + latChart;
}

/** Median throughput per target as horizontal bars (compare mode). */
export function compareSvg(report: BenchReport): string {
  const c = report.compare;
  if (c === undefined) return '';
  const rows = report.targets.map((t) => {
    const values = c.rounds.map((r) => r.results.find((x) => x.label === t.label)?.throughput ?? 0);
    return { label: t.label, value: median(values) };
  });
  const rowH = 28;
  const height = rows.length * rowH + 24;
  const max = Math.max(...rows.map((r) => r.value), 1);
  const left = 140;
  const bars = rows
    .map((r, i) => {
      const w = ((W - left - 80) * r.value) / max;
      const y = 8 + i * rowH;
      return `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${escapeHtml(r.label)}</text><rect x="${left}" y="${y + 4}" width="${n(w)}" height="${rowH - 10}" fill="${COLORS[i % COLORS.length]}"/><text x="${n(left + w + 6)}" y="${y + 17}">${escapeHtml(rps(r.value))} req/s</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${W} ${height}" role="img" aria-label="median throughput per target">${bars}</svg>`;
}

function htmlTable(t: Table): string {
  const head = t.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<h2>${escapeHtml(t.title)}</h2><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:980px;color:#111;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f5f5f5}code{background:#f5f5f5;padding:1px 4px}
svg{width:100%;max-width:${W}px;height:auto;display:block;margin:8px 0;font-size:11px}
.axis{stroke:#444}.grid{stroke:#eee}.bar{fill:#2563eb}.marker{stroke:#dc2626;stroke-dasharray:3 3}
.marker-label{fill:#dc2626}.label{fill:#444}.pass{color:#15803d}.fail{color:#b91c1c;font-weight:600}`;

/** The HTML report. */
export function renderHtml(report: BenchReport): string {
  const m = report.machine;
  const parts: string[] = [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>toolgate bench report</title><style>${STYLE}</style></head><body>`,
    '<h1>toolgate bench report</h1>',
    `<p>${escapeHtml(report.createdAt)} · toolgate ${escapeHtml(report.version)} · ${escapeHtml(m.platform)} · ${m.cpus} CPU ${escapeHtml(m.cpuModel)} · Node ${escapeHtml(m.node)} · load average ${escapeHtml(m.loadAverageStart.join(' '))} before, ${escapeHtml(m.loadAverageEnd.join(' '))} after</p>`,
    `<p>Command: <code>${escapeHtml(report.command.join(' '))}</code></p>`,
  ];
  if (report.compare !== undefined) parts.push('<h2>Median throughput</h2>', compareSvg(report));
  for (const table of reportTables(report)) parts.push(htmlTable(table));
  for (const t of report.targets) {
    parts.push(`<h2>${escapeHtml(t.label)}</h2><p>${escapeHtml(t.description)}</p>`);
    parts.push('<h3>Latency histogram</h3>', histogramSvg(t));
    parts.push('<h3>Throughput and latency over time</h3>', seriesSvgs(t));
  }
  const notes = reportNotes(report);
  if (notes.length > 0) parts.push('<h2>Notes</h2><ul>', ...notes.map((x) => `<li>${escapeHtml(x)}</li>`), '</ul>');
  if (report.assertions.length > 0) {
    parts.push('<h2>Assertions</h2><ul>');
    for (const a of report.assertions) {
      const actual = a.error ?? `actual ${a.actual}`;
      parts.push(
        `<li class="${a.pass ? 'pass' : 'fail'}">${a.pass ? 'PASS' : 'FAIL'} <code>${escapeHtml(a.expression)}</code> [${escapeHtml(a.target)}] (${escapeHtml(actual)})</li>`,
      );
    }
    parts.push('</ul>');
  }
  parts.push('</body></html>\n');
  return parts.join('\n');
}
