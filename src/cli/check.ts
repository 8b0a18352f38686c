import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CHECKS } from '../check/catalog.js';
import { applyBaseline, exitCode, readBaseline, writeBaseline, type FailOn } from '../check/grade.js';
import { EXTENSIONS, FORMATS, render, type ReportFormat } from '../check/reports.js';
import { regrade, runCheck, type RunOptions, type TargetSpec } from '../check/runner.js';
import { DEFAULT_CALL_TIMEOUT_MS, TargetError } from '../check/target.js';
import { CATEGORIES, SEVERITIES } from '../check/types.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import type { Command } from './main.js';

/** Exit code when the target could not be checked at all (not started, unreachable, garbage, hang). */
export const EXIT_TARGET_FAILED = 3;
const TARGET_FAILED: ErrorCode = 'TG_CHECK_TARGET_FAILED';

const USAGE = `Usage:
  toolgate check [options] -- <command> [args...]   check a stdio MCP server (spawned by the checker)
  toolgate check [options] <url>                    check a Streamable HTTP MCP endpoint

Target:
  --era auto|legacy|modern   protocol era (default auto: probe 2026-07-28, fall back to initialize)
  --header "Name: value"     HTTP header on every request (repeatable), e.g. an API key
  --bearer TOKEN             shorthand for --header "Authorization: Bearer TOKEN"
  --resolve HOST:IP          connect to IP for HOST (repeatable), like curl --resolve
  --env KEY=VALUE            extra environment for a stdio server (repeatable)
  --cwd DIR                  working directory of a stdio server

Safety (safe by default):
  --allow-destructive        also call tools with destructiveHint or deletion-like names
  --call-unannotated         also call tools not declared read-only or non-destructive
  --allow-open-world         also call tools with openWorldHint: true
  --timeout-ms N             bound of every request (default ${DEFAULT_CALL_TIMEOUT_MS})
  --max-calls N              bound on tools/call requests (default 400)

Selection:
  --only ID|CATEGORY[,...]   run only these checks or categories (repeatable)
  --skip ID|CATEGORY[,...]   skip these checks or categories (repeatable)
  --list-checks              print every check id and exit

Reports and CI:
  --format FMT[,FMT]         ${FORMATS.join('|')} (repeatable; default terminal)
  --out PATH                 file for one format, directory for several; default stdout
  --fail-on SEVERITY         exit 1 when a finding is at least this severe: ${SEVERITIES.join('|')}|none (default high)
  --baseline FILE            accept the findings listed in FILE; entries that no longer occur fail the run
  --write-baseline FILE      write a baseline accepting every current finding
  --pin FILE                 record tool fingerprints (first run), report changed tools (later runs)
  --pin-update               rewrite the pin file after reporting changes
  --canary VALUE             a secret value to search every output for (repeatable)
  --perf-samples N           requests per latency measurement (default 20)
  --perf-concurrency N       concurrency of latency measurements (default 4)
  --quiet                    no progress lines on stderr

Exit codes: 0 passed, 1 findings at or above --fail-on (or a stale baseline), 2 usage error,
3 the target could not be checked (did not start, unreachable, not MCP, no answer in time).`;

function usageError(message: string): GatewayError {
  return new GatewayError('TG_CLI_USAGE', `${message} (see toolgate check --help)`);
}

function positiveInt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw usageError(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

function list(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

function keyValues(values: string[] | undefined, sep: string, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const i = v.indexOf(sep);
    if (i <= 0) throw usageError(`--${flag} expects KEY${sep}VALUE, got "${v}"`);
    out[v.slice(0, i).trim()] = v.slice(i + 1).trim();
  }
  return out;
}

/** Parses the command line into a target and run options; throws TG_CLI_USAGE on any problem. */
export function parseCheckArgs(
  argv: string[],
): { spec: TargetSpec; options: RunOptions; cli: CliOptions } | 'help' | 'list' {
  const dash = argv.indexOf('--');
  const optionArgs = dash === -1 ? argv : argv.slice(0, dash);
  const command = dash === -1 ? [] : argv.slice(dash + 1);
  let parsed;
  try {
    parsed = parseArgs({
      args: optionArgs,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        'list-checks': { type: 'boolean' },
        era: { type: 'string' },
        header: { type: 'string', multiple: true },
        bearer: { type: 'string' },
        resolve: { type: 'string', multiple: true },
        env: { type: 'string', multiple: true },
        cwd: { type: 'string' },
        'allow-destructive': { type: 'boolean' },
        'call-unannotated': { type: 'boolean' },
        'allow-open-world': { type: 'boolean' },
        'timeout-ms': { type: 'string' },
        'max-calls': { type: 'string' },
        only: { type: 'string', multiple: true },
        skip: { type: 'string', multiple: true },
        format: { type: 'string', multiple: true },
        out: { type: 'string' },
        'fail-on': { type: 'string' },
        baseline: { type: 'string' },
        'write-baseline': { type: 'string' },
        pin: { type: 'string' },
        'pin-update': { type: 'boolean' },
        canary: { type: 'string', multiple: true },
        'perf-samples': { type: 'string' },
        'perf-concurrency': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
      },
    });
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (v['list-checks'] === true) return 'list';

  const era = v.era ?? 'auto';
  if (era !== 'auto' && era !== 'legacy' && era !== 'modern')
    throw usageError(`--era must be auto, legacy or modern, got "${era}"`);
  const failOn = (v['fail-on'] ?? 'high') as FailOn;
  if (failOn !== 'none' && !(SEVERITIES as readonly string[]).includes(failOn))
    throw usageError(`--fail-on must be one of ${SEVERITIES.join(', ')}, none; got "${failOn}"`);
  const formats = list(v.format);
  for (const f of formats)
    if (!(FORMATS as readonly string[]).includes(f))
      throw usageError(`unknown --format "${f}" (${FORMATS.join(', ')})`);
  const known = new Set<string>([...CHECKS.map((c) => c.id), ...CATEGORIES]);
  const only = list(v.only);
  const skip = list(v.skip);
  for (const s of [...only, ...skip])
    if (!known.has(s)) throw usageError(`unknown check id or category "${s}" (try --list-checks)`);

  let spec: TargetSpec;
  const positionals = parsed.positionals;
  if (command.length > 0) {
    if (positionals.length > 0)
      throw usageError(`give either a URL or "-- command", not both (extra: ${positionals.join(' ')})`);
    const [cmd, ...args] = command;
    if (cmd === undefined) throw usageError('missing command after --');
    if (v.header !== undefined || v.bearer !== undefined || v.resolve !== undefined)
      throw usageError('--header, --bearer and --resolve apply to URL targets only');
    spec = { kind: 'stdio', command: cmd, args, env: keyValues(v.env, '=', 'env') };
    if (v.cwd !== undefined) spec.cwd = v.cwd;
  } else {
    if (positionals.length === 0) throw usageError('missing target: a URL, or -- followed by a command');
    if (positionals.length > 1)
      throw usageError(`one target at a time (got ${positionals.join(' ')}); put a command after --`);
    const target = positionals[0] ?? '';
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw usageError(`"${target}" is not a URL; to check a command, write: toolgate check -- ${target}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw usageError(`unsupported URL scheme ${url.protocol} (http or https)`);
    if (v.env !== undefined || v.cwd !== undefined) throw usageError('--env and --cwd apply to stdio targets only');
    const headers: Record<string, string> = {};
    for (const [k, val] of Object.entries(keyValues(v.header, ':', 'header'))) headers[k.toLowerCase()] = val;
    if (v.bearer !== undefined) headers['authorization'] = `Bearer ${v.bearer}`;
    const resolve: Record<string, string> = {};
    for (const r of v.resolve ?? []) {
      const i = r.indexOf(':');
      if (i <= 0) throw usageError(`--resolve expects HOST:IP, got "${r}"`);
      resolve[r.slice(0, i).toLowerCase()] = r.slice(i + 1);
    }
    spec = { kind: 'http', url: url.href, headers, resolve };
  }

  const options: RunOptions = {
    era,
    timeoutMs: positiveInt('timeout-ms', v['timeout-ms'], DEFAULT_CALL_TIMEOUT_MS),
    allowDestructive: v['allow-destructive'] === true,
    callUnannotated: v['call-unannotated'] === true,
    allowOpenWorld: v['allow-open-world'] === true,
    only,
    skip,
    pinUpdate: v['pin-update'] === true,
    canaries: v.canary ?? [],
    credentials: spec.kind === 'http' && Object.keys(spec.headers).length > 0,
    maxCalls: positiveInt('max-calls', v['max-calls'], 400),
    perfSamples: positiveInt('perf-samples', v['perf-samples'], 20),
    perfConcurrency: positiveInt('perf-concurrency', v['perf-concurrency'], 4),
  };
  if (v.pin !== undefined) options.pinFile = v.pin;
  if (options.pinUpdate && options.pinFile === undefined) throw usageError('--pin-update needs --pin FILE');
  if ((v.out === undefined || v.out === '-') && formats.length > 1) throw usageError('several formats need --out DIR');
  const cli: CliOptions = {
    formats: (formats.length === 0 ? ['terminal'] : formats) as ReportFormat[],
    failOn,
    quiet: v.quiet === true,
  };
  if (v.out !== undefined) cli.out = v.out;
  if (v.baseline !== undefined) cli.baseline = v.baseline;
  if (v['write-baseline'] !== undefined) cli.writeBaseline = v['write-baseline'];
  return { spec, options, cli };
}

/** Report and exit-code options of the CLI. */
export interface CliOptions {
  formats: ReportFormat[];
  out?: string;
  failOn: FailOn;
  baseline?: string;
  writeBaseline?: string;
  quiet: boolean;
}

function listChecks(): string {
  return (
    CHECKS.map((c) => `${c.id.padEnd(11)} ${c.category.padEnd(12)} ${c.severity.padEnd(9)} ${c.title}`).join('\n') +
    '\n'
  );
}

/** `toolgate check`: grades an MCP server against the production checklist. */
export const checkCommand: Command = async (argv) => {
  const parsed = parseCheckArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (parsed === 'list') {
    process.stdout.write(listChecks());
    return 0;
  }
  const { spec, options, cli } = parsed;
  const baseline = cli.baseline === undefined ? undefined : readBaseline(cli.baseline);
  const progress = cli.quiet ? undefined : (line: string): void => void process.stderr.write(line + '\n');

  let report;
  try {
    report = await runCheck(spec, options, progress);
  } catch (err) {
    if (err instanceof TargetError) {
      process.stderr.write(`toolgate check: cannot check the target: ${err.message} [${TARGET_FAILED}]\n`);
      return EXIT_TARGET_FAILED;
    }
    throw err;
  }
  if (baseline !== undefined) {
    report.staleBaseline = applyBaseline(report.findings, baseline);
    regrade(report);
  }
  if (cli.writeBaseline !== undefined) writeBaseline(cli.writeBaseline, report.findings);

  // A machine format on stdout moves the human report to stderr, so `> report.json` stays valid JSON.
  const toStdout = cli.out === undefined || cli.out === '-';
  if (toStdout) {
    const f = cli.formats[0] ?? 'terminal';
    if (f !== 'terminal' && !cli.quiet) process.stderr.write(render('terminal', report));
    process.stdout.write(render(f, report));
  } else {
    const out = cli.out ?? '.';
    if (cli.formats.length === 1) {
      writeFileSync(out, render(cli.formats[0] ?? 'terminal', report));
    } else {
      mkdirSync(out, { recursive: true });
      for (const f of cli.formats) writeFileSync(join(out, `toolgate-check.${EXTENSIONS[f]}`), render(f, report));
    }
    process.stdout.write(render('terminal', report));
  }
  return exitCode(report.findings, report.staleBaseline, cli.failOn);
};
