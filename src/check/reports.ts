import { STALE_BASELINE_ID } from './catalog.js';
import { SEVERITIES, type CheckReport, type Finding } from './types.js';

/** Output formats of `--format`. */
export const FORMATS = ['terminal', 'json', 'junit', 'markdown', 'html'] as const;
export type ReportFormat = (typeof FORMATS)[number];

/** File extension of each machine format. */
export const EXTENSIONS: Record<ReportFormat, string> = {
  terminal: 'txt',
  json: 'json',
  junit: 'xml',
  markdown: 'md',
  html: 'html',
};

/** Findings of one check id printed in full on the terminal; the rest are listed by subject. */
const TERMINAL_PER_CHECK = 3;

function open(r: CheckReport): Finding[] {
  return r.findings.filter((f) => f.baselined !== true);
}

/** "2 critical, 1 high" style counts of open findings. */
export function severityCounts(findings: Finding[]): string {
  const parts = SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const).filter(
    ([, n]) => n > 0,
  );
  return parts.length === 0 ? 'none' : parts.map(([s, n]) => `${n} ${s}`).join(', ');
}

function checkCounts(r: CheckReport): string {
  const n = (s: string): number => r.checks.filter((c) => c.status === s).length;
  return `${r.checks.length} checks: ${n('pass')} passed, ${n('fail')} failed, ${n('skip')} skipped`;
}

function headline(r: CheckReport): string {
  const t = r.target;
  const who = `${t.serverName ?? 'unnamed server'}${t.serverVersion === undefined ? '' : ` ${t.serverVersion}`}`;
  return `${who} — ${t.era} era (${t.protocolVersion}) over ${t.kind}: ${t.description}`;
}

function summaryLine(r: CheckReport): string {
  const baselined = r.findings.length - open(r).length;
  return `Grade ${r.grade} (score ${r.score}/100) · findings: ${severityCounts(open(r))}${baselined > 0 ? ` (+${baselined} baselined)` : ''} · ${checkCounts(r)} · ${(r.durationMs / 1000).toFixed(1)} s`;
}

function findingTitle(f: Finding): string {
  return `${f.title}${f.subject === undefined ? '' : ` — ${f.subject}`}`;
}

/** The human report printed at the end of a run. */
export function renderTerminal(r: CheckReport): string {
  const lines: string[] = [];
  lines.push(`toolgate check — ${headline(r)}`, summaryLine(r), '');
  lines.push(`${'Category'.padEnd(13)}${'Grade'.padEnd(7)}${'Score'.padEnd(7)}${'Findings'.padEnd(10)}Checks run`);
  for (const c of r.categories)
    lines.push(
      `${c.category.padEnd(13)}${c.grade.padEnd(7)}${String(c.score).padEnd(7)}${String(c.findings).padEnd(10)}${c.checks}`,
    );
  const fs = open(r);
  if (fs.length > 0) {
    lines.push('', 'Findings, most severe first:');
    // Long runs of one check (e.g. a missing additionalProperties on every tool) are folded after three.
    const shown = new Map<string, number>();
    for (const f of fs) {
      const n = (shown.get(f.id) ?? 0) + 1;
      shown.set(f.id, n);
      if (n > TERMINAL_PER_CHECK) continue;
      lines.push(`${f.severity.toUpperCase().padEnd(9)}${f.id.padEnd(11)} ${findingTitle(f)}`);
      lines.push(`    evidence:  ${f.evidence}`, `    checklist: ${f.checklist}`, `    fix:       ${f.remediation}`);
    }
    for (const [id, n] of shown) {
      if (n <= TERMINAL_PER_CHECK) continue;
      const more = fs.filter((f) => f.id === id).slice(TERMINAL_PER_CHECK);
      lines.push(
        `… ${id}: ${more.length} more (${more
          .map((f) => f.subject ?? '')
          .slice(0, 12)
          .join(', ')}${more.length > 12 ? ', …' : ''}); see --format json|markdown|html`,
      );
    }
  }
  if (r.staleBaseline.length > 0) {
    lines.push('', `Stale baseline entries (${STALE_BASELINE_ID}, they fail the run — remove them):`);
    for (const s of r.staleBaseline) lines.push(`  ${s}`);
  }
  const m = Object.entries(r.measurements);
  if (m.length > 0) {
    lines.push('', 'Measurements:');
    for (const [k, v] of m) lines.push(`  ${k}: ${v}`);
  }
  if (r.notes.length > 0) {
    lines.push('', 'Notes:');
    for (const n of r.notes) lines.push(`  ${n}`);
  }
  return lines.join('\n') + '\n';
}

/** The full report as JSON (stable field names; see docs/check.md). */
export function renderJson(r: CheckReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

// XML 1.0 cannot carry most control characters, not even escaped: they are written as \uXXXX text instead.
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function xml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(XML_INVALID, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** JUnit XML: one suite per category, one test case per check id; findings are failures, skipped checks skipped. */
export function renderJunit(r: CheckReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const failures = r.checks.filter((c) => c.status === 'fail').length;
  out.push(
    `<testsuites name="toolgate check" tests="${r.checks.length}" failures="${failures}" time="${(r.durationMs / 1000).toFixed(3)}">`,
  );
  const categories = [...new Set(r.checks.map((c) => c.category))];
  for (const cat of categories) {
    const checks = r.checks.filter((c) => c.category === cat);
    const f = checks.filter((c) => c.status === 'fail').length;
    const s = checks.filter((c) => c.status === 'skip').length;
    out.push(`  <testsuite name="${xml(cat)}" tests="${checks.length}" failures="${f}" skipped="${s}">`);
    for (const c of checks) {
      out.push(`    <testcase classname="toolgate.check.${xml(cat)}" name="${xml(`${c.id} ${c.title}`)}">`);
      if (c.status === 'skip') out.push(`      <skipped message="${xml(c.note ?? 'skipped')}"/>`);
      if (c.status === 'fail') {
        const fs = r.findings.filter((x) => x.id === c.id);
        const worst = fs[0]?.severity ?? 'info';
        const text = fs
          .map(
            (x) =>
              `[${x.severity}${x.baselined === true ? ', baselined' : ''}] ${x.subject ?? ''}: ${x.evidence}\nfix: ${x.remediation}`,
          )
          .join('\n\n');
        out.push(
          `      <failure type="${worst}" message="${xml(`${fs.length} finding(s), worst ${worst}`)}">${xml(text)}</failure>`,
        );
      }
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  if (r.staleBaseline.length > 0) {
    out.push(`  <testsuite name="baseline" tests="1" failures="1">`);
    out.push(
      `    <testcase classname="toolgate.check.baseline" name="${STALE_BASELINE_ID} baseline entries still occur">`,
    );
    out.push(
      `      <failure type="stale-baseline" message="${r.staleBaseline.length} stale baseline entr(ies)">${xml(r.staleBaseline.join('\n'))}</failure>`,
    );
    out.push('    </testcase>', '  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

function md(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Markdown: summary, category table, findings table, measurements. */
export function renderMarkdown(r: CheckReport): string {
  const lines: string[] = [`# toolgate check: grade ${r.grade}`, '', `**${md(headline(r))}**`, '', summaryLine(r), ''];
  lines.push('| Category | Grade | Score | Findings | Checks run |', '|---|---|---|---|---|');
  for (const c of r.categories) lines.push(`| ${c.category} | ${c.grade} | ${c.score} | ${c.findings} | ${c.checks} |`);
  const fs = open(r);
  if (fs.length > 0) {
    lines.push('', '## Findings', '', '| Severity | Id | Finding | Evidence | Fix |', '|---|---|---|---|---|');
    for (const f of fs)
      lines.push(`| ${f.severity} | ${f.id} | ${md(findingTitle(f))} | ${md(f.evidence)} | ${md(f.remediation)} |`);
  }
  if (r.staleBaseline.length > 0)
    lines.push('', `## Stale baseline entries (${STALE_BASELINE_ID})`, '', ...r.staleBaseline.map((s) => `- \`${s}\``));
  const m = Object.entries(r.measurements);
  if (m.length > 0) lines.push('', '## Measurements', '', ...m.map(([k, v]) => `- ${md(k)}: ${md(String(v))}`));
  if (r.notes.length > 0) lines.push('', '## Notes', '', ...r.notes.map((n) => `- ${md(n)}`));
  return lines.join('\n') + '\n';
}

function html(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A self-contained HTML page (no scripts, no external assets). */
export function renderHtml(r: CheckReport): string {
  const rows = open(r)
    .map(
      (f) =>
        `<tr class="${f.severity}"><td>${f.severity}</td><td><code>${html(f.id)}</code></td><td>${html(findingTitle(f))}<div class="ev">${html(f.evidence)}</div><div class="cl">${html(f.checklist)}</div></td><td>${html(f.remediation)}</td></tr>`,
    )
    .join('\n');
  const cats = r.categories
    .map(
      (c) =>
        `<tr><td>${c.category}</td><td class="g${c.grade}">${c.grade}</td><td>${c.score}</td><td>${c.findings}</td><td>${c.checks}</td></tr>`,
    )
    .join('\n');
  const meas = Object.entries(r.measurements)
    .map(([k, v]) => `<li>${html(k)}: ${html(String(v))}</li>`)
    .join('');
  const stale =
    r.staleBaseline.length === 0
      ? ''
      : `<h2>Stale baseline entries (${STALE_BASELINE_ID})</h2><ul>${r.staleBaseline.map((s) => `<li><code>${html(s)}</code></li>`).join('')}</ul>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>toolgate check: grade ${r.grade}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}
table{border-collapse:collapse;width:100%;margin:1rem 0}td,th{border:1px solid #ddd;padding:.35rem .5rem;vertical-align:top;text-align:left}
.grade{font-size:3rem;font-weight:700}.gA{color:#1a7f37}.gB{color:#4d7f1a}.gC{color:#9a6700}.gD{color:#bc4c00}.gF{color:#cf222e}
.critical td:first-child{background:#cf222e;color:#fff}.high td:first-child{background:#fd8c73}.medium td:first-child{background:#f9d171}.low td:first-child{background:#ddf4ff}
.ev{font-family:ui-monospace,monospace;font-size:12px;margin-top:.3rem;word-break:break-all}.cl{color:#666;font-size:12px;margin-top:.2rem}
</style></head><body>
<h1>toolgate check</h1>
<p><span class="grade g${r.grade}">${r.grade}</span> score ${r.score}/100</p>
<p><strong>${html(headline(r))}</strong></p>
<p>${html(summaryLine(r))}</p>
<table><tr><th>Category</th><th>Grade</th><th>Score</th><th>Findings</th><th>Checks run</th></tr>
${cats}</table>
<h2>Findings</h2>
<table><tr><th>Severity</th><th>Id</th><th>Finding, evidence, checklist item</th><th>Fix</th></tr>
${rows}</table>
${stale}
<h2>Measurements</h2><ul>${meas}</ul>
</body></html>
`;
}

/** Renders a report in one format. */
export function render(format: ReportFormat, r: CheckReport): string {
  switch (format) {
    case 'terminal':
      return renderTerminal(r);
    case 'json':
      return renderJson(r);
    case 'junit':
      return renderJunit(r);
    case 'markdown':
      return renderMarkdown(r);
    case 'html':
      return renderHtml(r);
  }
}
