/**
 * Report renderers: terminal text, Markdown and JSON. (HTML lives in `render-html.ts`.) All read the same
 * `BenchReport` and the same tables.
 */
import type { BenchReport, TargetReport } from './report.js';
import { formatMs } from './parse.js';
import {
  compareTable,
  latencyTable,
  operationsTable,
  outcomeTable,
  resourceTable,
  roundsTable,
  setupLine,
  type Table,
} from './tables.js';

/** Report output formats. */
export const REPORT_FORMATS = ['text', 'json', 'markdown', 'html'] as const;

/** One of `REPORT_FORMATS`. */
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The tables of a report, in reading order. */
export function reportTables(report: BenchReport): Table[] {
  const tables: Array<Table | undefined> = [
    compareTable(report),
    latencyTable(report.targets),
    outcomeTable(report.targets),
    resourceTable(report.targets),
    ...report.targets.filter((t) => t.operations.length > 1).map(operationsTable),
    roundsTable(report),
  ];
  return tables.filter((t): t is Table => t !== undefined);
}

/** Notes worth a reader's attention: early stops, correctness problems, top errors. */
export function reportNotes(report: BenchReport): string[] {
  const notes: string[] = [];
  for (const t of report.targets) {
    if (t.stopReason !== 'completed' && t.stopReason !== 'duration') {
      notes.push(
        `${t.label}: the run stopped early (${t.stopReason}${t.stopDetail === undefined ? '' : `: ${t.stopDetail}`})`,
      );
    }
    if (t.correctness.mismatches > 0) {
      notes.push(
        `${t.label}: ${t.correctness.mismatches} correctness failure(s): ${t.correctness.unmatchedResponses} response(s) matched no request, ${t.correctness.invalidAnswers} answer(s) failed the shape check`,
      );
    }
    if (t.sessionReinits > 0) {
      notes.push(
        `${t.label}: the server forgot a session (HTTP 404) ${t.sessionReinits} time(s); bench re-initialized it`,
      );
    }
    if (t.correctness.lateResponses > 0)
      notes.push(`${t.label}: ${t.correctness.lateResponses} answer(s) arrived after their timeout`);
    if (
      t.offeredRate !== undefined &&
      t.maxSendLagMs !== undefined &&
      t.maxSendLagMs > 0.1 * (1000 / t.offeredRate) + 5
    ) {
      notes.push(
        `${t.label}: sends fell up to ${formatMs(t.maxSendLagMs)} behind the ${t.offeredRate} req/s schedule; latency counts that wait (service time shows the time after sending)`,
      );
    }
    for (const e of t.topErrors.slice(0, 5)) notes.push(`${t.label}: ${e.count}× ${e.message}`);
    if (t.processNote !== undefined) notes.push(`${t.label}: ${t.processNote}`);
    for (const w of t.generator.warnings) notes.push(`${t.label}: ${w}`);
  }
  return [...report.warnings, ...notes];
}

function assertionLines(report: BenchReport): string[] {
  return report.assertions.map((a) => {
    const verdict = a.pass ? 'PASS' : 'FAIL';
    const actual = a.error ?? `actual ${Number.isFinite(a.actual) ? round(a.actual) : a.actual}`;
    return `${verdict} ${a.expression} [${a.target}] (${actual})`;
  });
}

function round(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(1) : String(Math.round(n * 10000) / 10000);
}

function textTable(t: Table): string[] {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [t.title, `  ${line(t.headers)}`, ...t.rows.map((r) => `  ${line(r)}`)];
}

/** The terminal summary. */
export function renderText(report: BenchReport): string {
  const out: string[] = [
    '',
    `toolgate bench ${report.version} — ${report.machine.cpus} CPU ${report.machine.cpuModel}, Node ${report.machine.node}, load ${report.machine.loadAverageStart.join(' ')} → ${report.machine.loadAverageEnd.join(' ')}`,
  ];
  for (const t of report.targets) out.push(`  ${setupLine(t)}`);
  for (const table of reportTables(report)) out.push('', ...textTable(table));
  const notes = reportNotes(report);
  if (notes.length > 0) out.push('', 'Notes', ...notes.map((n) => `  - ${n}`));
  if (report.assertions.length > 0) out.push('', 'Assertions', ...assertionLines(report).map((l) => `  ${l}`));
  return out.join('\n') + '\n';
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function markdownTable(t: Table): string[] {
  return [
    `| ${t.headers.map(escapeCell).join(' | ')} |`,
    `|${t.headers.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...t.rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`),
  ];
}

/** A Markdown report (for READMEs, PR comments, CI summaries). */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [
    `# toolgate bench report`,
    '',
    `${report.createdAt} · toolgate ${report.version} · ${m.platform} · ${m.cpus} CPU ${m.cpuModel} · Node ${m.node} · load average ${m.loadAverageStart.join(' ')} before, ${m.loadAverageEnd.join(' ')} after`,
    '',
    `Command: \`${report.command.map((a) => (/[\s"'`]/.test(a) ? JSON.stringify(a) : a)).join(' ')}\``,
    '',
    ...report.targets.map((t: TargetReport) => `- ${escapeCell(setupLine(t))}`),
  ];
  for (const table of reportTables(report)) out.push('', `## ${table.title}`, '', ...markdownTable(table));
  const notes = reportNotes(report);
  if (notes.length > 0) out.push('', '## Notes', '', ...notes.map((n) => `- ${escapeCell(n)}`));
  if (report.assertions.length > 0)
    out.push('', '## Assertions', '', ...assertionLines(report).map((l) => `- ${escapeCell(l)}`));
  return out.join('\n') + '\n';
}

/** The JSON report (stable field names; see docs/bench.md). */
export function renderJson(report: BenchReport): string {
  return (
    JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n'
  );
}
