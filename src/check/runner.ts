import { DEFAULT_INHERITED_ENV } from '../upstreams/stdio.js';
import { VERSION } from '../version.js';
import { runAuthChecks } from './auth.js';
import { CanaryKit } from './canary.js';
import { CHECKS } from './catalog.js';
import { CheckContext, type CheckOptions } from './context.js';
import { categoryGrades, letter, score, sortFindings } from './grade.js';
import { HttpTarget } from './http-target.js';
import { runHttpChecks } from './http-transport.js';
import { runLeakageChecks } from './leakage.js';
import { runMetadataChecks } from './metadata.js';
import { runPerformanceChecks } from './performance.js';
import { runPoisoningChecks } from './poisoning.js';
import { collectInventory, runLateProtocolChecks, runProtocolChecks } from './protocol.js';
import { exerciseTools, runRobustnessChecks } from './robustness.js';
import { runSchemaChecks, runSchemaEnforcementCheck } from './schema.js';
import { StdioTarget } from './stdio-target.js';
import { runStdioChecks } from './stdio-transport.js';
import type { Era, McpTarget } from './target.js';
import { runTokenChecks } from './tokens.js';
import type { CheckOutcome, CheckReport, TargetInfo } from './types.js';

/** What to check: a command to spawn (stdio) or an endpoint URL (Streamable HTTP). */
export type TargetSpec =
  | { kind: 'stdio'; command: string; args: string[]; env: Record<string, string>; cwd?: string }
  | { kind: 'http'; url: string; headers: Record<string, string>; resolve: Record<string, string> };

/** Options of one run. */
export interface RunOptions extends CheckOptions {
  era: Era | 'auto';
}

/** The environment a stdio target starts with: the allowlist, the canaries, then the user's `--env`. */
export function targetEnv(canary: CanaryKit, userEnv: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  // The gateway's own allowlist for stdio upstreams: a server under check sees what it would see behind toolgate.
  for (const k of DEFAULT_INHERITED_ENV) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return { ...env, ...canary.envVars(), ...userEnv };
}

/** A printable description of a target, without credentials. */
export function describeTarget(spec: TargetSpec): string {
  if (spec.kind === 'http') {
    const u = new URL(spec.url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.href;
  }
  return [spec.command, ...spec.args].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

/** Connects to the target (spawning it for stdio); throws `TargetError` when it cannot be checked at all. */
async function connect(spec: TargetSpec, options: RunOptions, canary: CanaryKit): Promise<McpTarget> {
  if (spec.kind === 'stdio') {
    const o = {
      command: spec.command,
      args: spec.args,
      env: targetEnv(canary, spec.env),
      era: options.era,
      timeoutMs: options.timeoutMs,
    };
    return StdioTarget.start(spec.cwd === undefined ? o : { ...o, cwd: spec.cwd });
  }
  return HttpTarget.connect({
    url: spec.url,
    headers: spec.headers,
    era: options.era,
    timeoutMs: options.timeoutMs,
    resolve: spec.resolve,
  });
}

/** Ids whose checks read the calls the exercise phase makes. */
const NEEDS_CALLS = [
  'TG-CHK-A9',
  'TG-CHK-A10',
  'TG-CHK-A11',
  'TG-CHK-A12',
  'TG-CHK-E5',
  'TG-CHK-H1',
  'TG-CHK-I1',
  'TG-CHK-I2',
  'TG-CHK-I3',
  'TG-CHK-I4',
  'TG-CHK-K2',
];

/** Runs every enabled check against one target and returns the report (findings not yet baselined). */
export async function runCheck(
  spec: TargetSpec,
  options: RunOptions,
  onProgress: (line: string) => void = () => undefined,
): Promise<CheckReport> {
  const startedAt = new Date();
  const canary = new CanaryKit(options.canaries);
  await canary.start();
  let target: McpTarget | undefined;
  try {
    onProgress(`connecting to ${describeTarget(spec)} …`);
    target = await connect(spec, options, canary);
    const id = target.identity;
    onProgress(
      `connected: ${id.name ?? 'unnamed server'} ${id.version ?? ''} — ${target.era} era (${id.protocolVersion}) over ${target.kind}`,
    );
    const ctx = new CheckContext(target, options, canary, onProgress);
    const bait = { validUrl: canary.validUrl(), ssrfUrls: canary.ssrfUrls() };
    const group = (name: string): void => onProgress(`[${name}]`);

    const lists = await collectInventory(ctx);
    group('protocol');
    await runProtocolChecks(ctx, lists);
    group('http');
    await runHttpChecks(ctx);
    group('auth');
    await runAuthChecks(ctx);
    if (
      ctx.categoryEnabled(NEEDS_CALLS) ||
      ctx.enabled('TG-CHK-F6') ||
      ctx.categoryEnabled(['TG-CHK-H2', 'TG-CHK-H3'])
    ) {
      onProgress(`calling ${ctx.callableTools().length} of ${ctx.tools.length} tools with valid inputs …`);
      await exerciseTools(ctx, bait);
    }
    group('schema');
    await runSchemaEnforcementCheck(ctx, bait);
    await runSchemaChecks(ctx);
    group('robustness');
    await runRobustnessChecks(ctx, bait);
    group('protocol (results)');
    await runLateProtocolChecks(ctx);
    group('metadata');
    await runMetadataChecks(ctx);
    group('tokens');
    await runTokenChecks(ctx);
    group('performance');
    await runPerformanceChecks(ctx);
    group('poisoning');
    await runPoisoningChecks(ctx);
    group('stdio');
    await runStdioChecks(ctx);
    group('leakage');
    await runLeakageChecks(ctx);

    const outcomes: CheckOutcome[] = CHECKS.map(
      (c) =>
        ctx.outcomes.get(c.id) ?? { id: c.id, category: c.category, title: c.title, status: 'skip', note: 'not run' },
    );
    const findings = sortFindings(ctx.findings);
    const points = score(findings);
    const info: TargetInfo = {
      kind: target.kind,
      description: describeTarget(spec),
      era: target.era,
      protocolVersion: id.protocolVersion,
      capabilities: Object.keys(id.capabilities).sort(),
      tools: ctx.tools.length,
      prompts: ctx.prompts.length,
      resources: ctx.resources.length,
    };
    if (id.name !== undefined) info.serverName = id.name;
    if (id.version !== undefined) info.serverVersion = id.version;
    ctx.measurements['tools/call requests'] = ctx.calls.length;
    return {
      tool: { name: 'toolgate check', version: VERSION },
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      target: info,
      score: points,
      grade: letter(points, findings),
      categories: categoryGrades(findings, outcomes),
      findings,
      checks: outcomes,
      measurements: ctx.measurements,
      staleBaseline: [],
      notes: ctx.notes,
    };
  } finally {
    await target?.close().catch(() => undefined);
    await canary.stop();
  }
}

/** Recomputes scores and grades after a baseline marked findings as accepted. */
export function regrade(report: CheckReport): void {
  report.score = score(report.findings);
  report.grade = letter(report.score, report.findings);
  report.categories = categoryGrades(report.findings, report.checks);
}
