import { readFileSync, writeFileSync } from 'node:fs';
import { GatewayError } from '../errors.js';
import { STALE_BASELINE_ID } from './catalog.js';
import {
  CATEGORIES,
  SEVERITIES,
  type CategoryGrade,
  type CheckOutcome,
  type Finding,
  type Grade,
  type Severity,
} from './types.js';

/** Points a distinct failing check costs, by its worst severity (Cisco-readiness style deductions). */
export const DEDUCTIONS: Record<Severity, number> = { critical: 25, high: 15, medium: 8, low: 3, info: 0 };

/** Severity rank: 0 = critical … 4 = info. */
export function rank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** Sorts findings most severe first, then by id and subject. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      a.id.localeCompare(b.id, 'en', { numeric: true }) ||
      (a.subject ?? '').localeCompare(b.subject ?? ''),
  );
}

/**
 * Score 0–100 of a set of findings: each failing check id costs its worst severity's deduction once, so twenty
 * undocumented parameters cost as much as one. Baselined findings are accepted and cost nothing.
 */
export function score(findings: Finding[]): number {
  const worst = new Map<string, Severity>();
  for (const f of findings) {
    if (f.baselined === true) continue;
    const w = worst.get(f.id);
    if (w === undefined || rank(f.severity) < rank(w)) worst.set(f.id, f.severity);
  }
  let s = 100;
  for (const sev of worst.values()) s -= DEDUCTIONS[sev];
  return Math.max(0, s);
}

/** Letter grade: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F; a critical finding caps at D, a high one at B. */
export function letter(points: number, findings: Finding[]): Grade {
  let g: Grade = points >= 90 ? 'A' : points >= 80 ? 'B' : points >= 70 ? 'C' : points >= 60 ? 'D' : 'F';
  const open = findings.filter((f) => f.baselined !== true);
  const cap = (max: Grade): void => {
    if (g < max) g = max;
  };
  if (open.some((f) => f.severity === 'critical')) cap('D');
  else if (open.some((f) => f.severity === 'high')) cap('B');
  return g;
}

/** Per-category grades (categories with no run checks are left out). */
export function categoryGrades(findings: Finding[], outcomes: CheckOutcome[]): CategoryGrade[] {
  const out: CategoryGrade[] = [];
  for (const category of CATEGORIES) {
    const checks = outcomes.filter((o) => o.category === category && o.status !== 'skip').length;
    if (checks === 0) continue;
    const fs = findings.filter((f) => f.category === category);
    const points = score(fs);
    out.push({
      category,
      score: points,
      grade: letter(points, fs),
      findings: fs.filter((f) => f.baselined !== true).length,
      checks,
    });
  }
  return out;
}

/** A baseline file: findings a team has accepted, by fingerprint. */
export interface BaselineFile {
  version: 1;
  accepted: { fingerprint: string; reason?: string }[];
}

/** Reads a baseline; a missing or malformed file is a usage error. */
export function readBaseline(file: string): BaselineFile {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new GatewayError('TG_CLI_USAGE', `--baseline ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const ok =
    typeof v === 'object' &&
    v !== null &&
    (v as { version?: unknown }).version === 1 &&
    Array.isArray((v as { accepted?: unknown }).accepted) &&
    (v as { accepted: unknown[] }).accepted.every(
      (e) => typeof e === 'object' && e !== null && typeof (e as { fingerprint?: unknown }).fingerprint === 'string',
    );
  if (!ok)
    throw new GatewayError(
      'TG_CLI_USAGE',
      `--baseline ${file} is not a toolgate baseline ({"version":1,"accepted":[{"fingerprint":"…"}]})`,
    );
  return v as BaselineFile;
}

/** Marks baselined findings; returns the entries that matched nothing (stale). */
export function applyBaseline(findings: Finding[], baseline: BaselineFile): string[] {
  const wanted = new Set(baseline.accepted.map((e) => e.fingerprint));
  const matched = new Set<string>();
  for (const f of findings) {
    if (wanted.has(f.fingerprint)) {
      f.baselined = true;
      matched.add(f.fingerprint);
    }
  }
  return [...wanted].filter((fp) => !matched.has(fp));
}

/** Writes a baseline accepting every current finding. */
export function writeBaseline(file: string, findings: Finding[]): void {
  const b: BaselineFile = {
    version: 1,
    accepted: sortFindings(findings).map((f) => ({ fingerprint: f.fingerprint, reason: `${f.severity}: ${f.title}` })),
  };
  writeFileSync(file, JSON.stringify(b, null, 2) + '\n');
}

/** `--fail-on` values: a severity, or `none` to always exit 0 on a completed run. */
export type FailOn = Severity | 'none';

/** Exit code of a completed run: 1 when an open finding reaches `failOn` or the baseline is stale, else 0. */
export function exitCode(findings: Finding[], stale: string[], failOn: FailOn): number {
  if (failOn === 'none') return 0;
  if (stale.length > 0) return 1;
  return findings.some((f) => f.baselined !== true && rank(f.severity) <= rank(failOn)) ? 1 : 0;
}

export { STALE_BASELINE_ID };
