/** Shared shapes of `toolgate check`: severities, check specs, findings and the report. */

/** Finding severities, most severe first. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Check groups (also the report's categories), in run order. */
export const CATEGORIES = [
  'protocol',
  'stdio',
  'http',
  'auth',
  'metadata',
  'schema',
  'tokens',
  'robustness',
  'leakage',
  'poisoning',
  'performance',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** The static description of one check (one stable `TG-CHK-*` id). */
export interface CheckSpec {
  readonly id: string;
  readonly category: Category;
  readonly title: string;
  /** Default severity of its findings; a check may raise or lower one finding's severity with a reason. */
  readonly severity: Severity;
  /** The seed checklist item (or spec rule) this check makes executable. */
  readonly checklist: string;
  readonly remediation: string;
}

/** One problem found. `subject` names what it is about (a tool, a header, a method) when not the whole server. */
export interface Finding {
  id: string;
  category: Category;
  severity: Severity;
  title: string;
  subject?: string;
  evidence: string;
  checklist: string;
  remediation: string;
  /** Stable key for baselines: `id` plus `subject`. */
  fingerprint: string;
  /** True when a baseline entry accepts this finding. */
  baselined?: boolean;
}

/** Outcome of one check id in a run. */
export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckOutcome {
  id: string;
  category: Category;
  title: string;
  status: CheckStatus;
  /** Why a check was skipped (not applicable to this target or era, filtered out, nothing safe to call). */
  note?: string;
}

/** Per-category score and letter grade. */
export interface CategoryGrade {
  category: Category;
  score: number;
  grade: Grade;
  findings: number;
  checks: number;
}

export type Grade = 'A' | 'B' | 'C' | 'D' | 'F';

/** What the run learned about the target itself (shown in every report). */
export interface TargetInfo {
  kind: 'stdio' | 'http';
  /** The command line or URL, with credentials removed. */
  description: string;
  era: 'legacy' | 'modern';
  protocolVersion: string;
  serverName?: string;
  serverVersion?: string;
  capabilities: string[];
  tools: number;
  prompts: number;
  resources: number;
}

/** Figures measured on the way (token counts, latencies, startup time), for the report. */
export type Measurements = Record<string, number | string>;

/** The complete result of a run. */
export interface CheckReport {
  tool: { name: 'toolgate check'; version: string };
  startedAt: string;
  durationMs: number;
  target: TargetInfo;
  score: number;
  grade: Grade;
  categories: CategoryGrade[];
  findings: Finding[];
  checks: CheckOutcome[];
  measurements: Measurements;
  /** Baseline entries that matched no finding in this run (a stale baseline fails the run). */
  staleBaseline: string[];
  /** Notes about the run itself (skipped tools, timeouts of the checker). */
  notes: string[];
}
