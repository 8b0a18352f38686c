import { RemoteError, type ProgressUpdate } from '../jsonrpc/peer.js';
import type { JsonObject } from '../jsonrpc/types.js';
import { checkSpec } from './catalog.js';
import type { CanaryKit } from './canary.js';
import { HttpStatusError, type HttpTarget } from './http-target.js';
import type { StdioTarget } from './stdio-target.js';
import { RequestTimeoutError, isPlainObject, type McpTarget } from './target.js';
import type { Category, CheckOutcome, Finding, Measurements, Severity } from './types.js';

/** What the user asked for, after parsing. */
export interface CheckOptions {
  timeoutMs: number;
  allowDestructive: boolean;
  callUnannotated: boolean;
  allowOpenWorld: boolean;
  /** Check ids or categories to run (empty = all). */
  only: string[];
  skip: string[];
  pinFile?: string;
  pinUpdate: boolean;
  /** Extra secret values to search outputs for (besides the injected canaries). */
  canaries: string[];
  /** True when the user gave credentials (--bearer / --header); enables the token checks. */
  credentials: boolean;
  /** Upper bound on tools/call requests in one run. */
  maxCalls: number;
  perfSamples: number;
  perfConcurrency: number;
}

/** One tools/call made by the checker, and what came back. */
export interface CallRecord {
  tool: string;
  purpose: 'valid' | 'enforce' | 'boundary' | 'attack' | 'perf' | 'cancel';
  label: string;
  args: unknown;
  outcome: 'result' | 'error' | 'timeout' | 'transport';
  result?: JsonObject;
  error?: { code: number; message: string; data?: unknown };
  transportError?: string;
  ms: number;
  progress: ProgressUpdate[];
}

/** A tool as listed by the server (raw JSON, validated loosely). */
export type Tool = JsonObject & { name: string };

const DELETION_WORDS =
  /(^|[^a-z])(delete|del|remove|rm|drop|destroy|purge|erase|wipe|truncate|kill|terminate|uninstall|revoke|reset|format|shred|unlink|rmdir)([^a-z]|$)/i;

/** True when a name suggests deletion (word-split on camelCase, `_`, `-`, `.`). */
export function nameSuggestsDeletion(name: string): boolean {
  return DELETION_WORDS.test(splitWords(name).join(' '));
}

/** Splits an identifier into lower-case words (`getUserById` → get user by id). */
export function splitWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.toLowerCase());
}

/** State shared by the check groups during one run: target, inventory, records, and the findings. */
export class CheckContext {
  tools: Tool[] = [];
  prompts: JsonObject[] = [];
  resources: JsonObject[] = [];
  readonly calls: CallRecord[] = [];
  readonly findings: Finding[] = [];
  readonly outcomes = new Map<string, CheckOutcome>();
  readonly measurements: Measurements = {};
  readonly notes: string[] = [];
  private callCount = 0;

  constructor(
    readonly target: McpTarget,
    readonly options: CheckOptions,
    readonly canary: CanaryKit,
    private readonly onProgress: (line: string) => void = () => undefined,
  ) {}

  /** The target as a stdio server, when it is one. */
  get stdio(): StdioTarget | undefined {
    return this.target.kind === 'stdio' ? (this.target as StdioTarget) : undefined;
  }

  /** The target as an HTTP endpoint, when it is one. */
  get http(): HttpTarget | undefined {
    return this.target.kind === 'http' ? (this.target as HttpTarget) : undefined;
  }

  /** True when `--only`/`--skip` let this check id run. */
  enabled(id: string): boolean {
    const cat = checkSpec(id).category;
    const { only, skip } = this.options;
    if (skip.includes(id) || skip.includes(cat)) return false;
    return only.length === 0 || only.includes(id) || only.includes(cat);
  }

  /** True when any check of the category is enabled (so a group can skip its expensive setup). */
  categoryEnabled(ids: string[]): boolean {
    return ids.some((id) => this.enabled(id));
  }

  /**
   * Runs one check: skipped when filtered out or when `applies` returns a reason; a crash of the check itself is
   * recorded as a note and the check is reported as skipped, never as passed.
   */
  async check(id: string, run: () => Promise<void> | void, notApplicable?: string): Promise<void> {
    const spec = checkSpec(id);
    if (!this.enabled(id)) {
      this.setOutcome(id, 'skip', 'filtered out by --only/--skip');
      return;
    }
    if (notApplicable !== undefined) {
      this.setOutcome(id, 'skip', notApplicable);
      this.onProgress(`  - ${id} ${spec.title}: skipped (${notApplicable})`);
      return;
    }
    const before = this.findings.filter((f) => f.id === id).length;
    try {
      await run();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.notes.push(`${id} could not complete: ${msg}`);
      this.setOutcome(id, 'skip', `could not complete: ${msg}`);
      this.onProgress(`  ! ${id} ${spec.title}: could not complete (${msg})`);
      return;
    }
    const current = this.outcomes.get(id);
    if (current?.status === 'skip') {
      this.onProgress(`  - ${id} ${spec.title}: skipped (${current.note ?? ''})`);
      return;
    }
    const found = this.findings.filter((f) => f.id === id).length - before;
    this.setOutcome(id, found > 0 ? 'fail' : 'pass');
    this.onProgress(
      `  ${found > 0 ? '✗' : '✓'} ${id} ${spec.title}${found > 0 ? ` (${found} finding${found > 1 ? 's' : ''})` : ''}`,
    );
  }

  /** Marks a running check as not applicable after all (e.g. nothing safe to call). */
  skipCheck(id: string, note: string): void {
    this.setOutcome(id, 'skip', note);
  }

  /** Records a finding of check `id`. */
  fail(id: string, f: { evidence: string; subject?: string; severity?: Severity }): void {
    const spec = checkSpec(id);
    const fingerprint = f.subject === undefined ? id : `${id}:${f.subject}`;
    if (this.findings.some((x) => x.fingerprint === fingerprint)) return; // one finding per check and subject
    const finding: Finding = {
      id,
      category: spec.category,
      severity: f.severity ?? spec.severity,
      title: spec.title,
      evidence: f.evidence,
      checklist: spec.checklist,
      remediation: spec.remediation,
      fingerprint,
    };
    if (f.subject !== undefined) finding.subject = f.subject;
    this.findings.push(finding);
  }

  /** Prints a progress line (stderr in the CLI). */
  progress(line: string): void {
    this.onProgress(line);
  }

  /** True when the tool may be called: never destructive ones unless --allow-destructive. */
  callable(tool: Tool): { ok: true } | { ok: false; reason: string } {
    const a = isPlainObject(tool['annotations']) ? tool['annotations'] : undefined;
    if (this.options.allowDestructive) return { ok: true };
    if (a?.['destructiveHint'] === true) return { ok: false, reason: 'destructiveHint: true' };
    if (nameSuggestsDeletion(tool.name)) return { ok: false, reason: 'name suggests deletion' };
    if (a?.['openWorldHint'] === true && !this.options.allowOpenWorld) {
      return { ok: false, reason: 'openWorldHint: true (reaches outside systems; --allow-open-world)' };
    }
    // Spec default of destructiveHint is true: an unannotated tool may be destructive.
    const declaredSafe = a?.['readOnlyHint'] === true || a?.['destructiveHint'] === false;
    if (!declaredSafe && !this.options.callUnannotated) {
      return { ok: false, reason: 'not declared read-only or non-destructive (--call-unannotated)' };
    }
    return { ok: true };
  }

  /** Tools the checker may call, in list order. */
  callableTools(): Tool[] {
    return this.tools.filter((t) => this.callable(t).ok);
  }

  /** True while the call budget lasts. */
  canCall(): boolean {
    return this.callCount < this.options.maxCalls && this.target.alive();
  }

  /** Calls a tool (bounded in time), records the exchange, never throws. */
  async callTool(
    tool: string,
    args: unknown,
    purpose: CallRecord['purpose'],
    label: string,
    timeoutMs?: number,
  ): Promise<CallRecord> {
    const record: CallRecord = { tool, purpose, label, args, outcome: 'transport', ms: 0, progress: [] };
    if (!this.canCall()) {
      record.transportError = this.target.alive() ? 'call budget exhausted (--max-calls)' : 'target is down';
      return record;
    }
    this.callCount++;
    const started = Date.now();
    try {
      const params: JsonObject = { name: tool };
      if (args !== undefined) params['arguments'] = args;
      record.result = await this.target.request('tools/call', params, {
        timeoutMs: timeoutMs ?? this.options.timeoutMs,
        onProgress: (p) => record.progress.push(p),
      });
      record.outcome = 'result';
    } catch (err) {
      if (err instanceof RemoteError) {
        record.outcome = 'error';
        record.error =
          err.data === undefined
            ? { code: err.code, message: err.message }
            : { code: err.code, message: err.message, data: err.data };
      } else if (err instanceof RequestTimeoutError) {
        record.outcome = 'timeout';
      } else {
        record.outcome = 'transport';
        record.transportError =
          err instanceof HttpStatusError
            ? `HTTP ${err.exchange.status}`
            : err instanceof Error
              ? err.message
              : String(err);
      }
    }
    record.ms = Date.now() - started;
    this.calls.push(record);
    return record;
  }

  /** Outcome of every check id in the catalog order. */
  private setOutcome(id: string, status: CheckOutcome['status'], note?: string): void {
    const spec = checkSpec(id);
    const o: CheckOutcome = { id, category: spec.category, title: spec.title, status };
    if (note !== undefined) o.note = note;
    this.outcomes.set(id, o);
  }
}

/** True when a call ended in success (a result without isError). */
export function succeeded(r: CallRecord): boolean {
  return r.outcome === 'result' && r.result?.['isError'] !== true;
}

/** True when a call was refused as it should be: an isError result or a JSON-RPC error. */
export function refused(r: CallRecord): boolean {
  return r.outcome === 'error' || (r.outcome === 'result' && r.result?.['isError'] === true);
}

/** The text of a call's answer (content texts, structured content, error message) for pattern searches. */
export function answerText(r: CallRecord): string {
  if (r.error !== undefined)
    return `${r.error.message}\n${r.error.data === undefined ? '' : JSON.stringify(r.error.data)}`;
  if (r.result === undefined) return '';
  return JSON.stringify(r.result);
}

/** Short JSON for evidence, cut to `max` characters. */
export function brief(v: unknown, max = 160): string {
  let s: string;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  if (s === undefined) return 'undefined';
  s = s.replace(/\s+/g, ' ');
  return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
}

export type { Category };
