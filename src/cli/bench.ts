/**
 * `toolgate bench`: load testing for MCP servers and gateways. This file only turns argv into session options
 * and a report into outputs and an exit code; the work happens in `src/bench/`.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { GatewayError, isGatewayError } from '../errors.js';
import { isObject, type JsonObject } from '../jsonrpc/types.js';
import { ASSERT_METRICS, evaluateAssertions, parseAssertion, type Assertion } from '../bench/assertions.js';
import { loadMixFile } from '../bench/mix-file.js';
import type { OperationSpec } from '../bench/operations.js';
import { parseDuration, parsePositiveInt, parseRate, splitCommandLine, splitLabel } from '../bench/parse.js';
import { REPORT_FORMATS, renderJson, renderMarkdown, renderText, type ReportFormat } from '../bench/render.js';
import { renderHtml } from '../bench/render-html.js';
import { buildReport, loadAverage, type BenchReport } from '../bench/report.js';
import type { LoadPlan } from '../bench/runner.js';
import { BenchSession, type SessionOptions, type TargetSpec } from '../bench/session.js';

/** Exit code when an `--assert` failed. */
export const EXIT_ASSERTION_FAILED = 1;
/** Exit code when a target could not be used or failed during the run. */
export const EXIT_TARGET_FAILED = 3;
/** Exit code after Ctrl-C (the partial report is still written). */
export const EXIT_INTERRUPTED = 130;

const MAX_CONCURRENCY = 10_000;
const MAX_REQUESTS = 100_000_000;
const MAX_DURATION_MS = 24 * 3_600_000;
const DEFAULT_REQUESTS = 1000;
const DEFAULT_CONCURRENCY = 10;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_TIME_LIMIT_MS = 10 * 60_000;
const DEFAULT_COMPARE_ROUNDS = 5;

const HELP = `Usage: toolgate bench (--server "<stdio command>" | --url <http endpoint>) [options]
       toolgate bench --compare --target NAME=<command|url> --target NAME=<command|url> ... [options]

Load-tests an MCP server or gateway: latency percentiles, throughput, outcomes by class, the target's CPU and
memory, correctness of every answer. Either MCP era (legacy initialize/sessions, or 2026-07-28 stateless).

Target
  --server CMD           a stdio server; bench spawns it in its own process group and measures its process tree
  --url URL              a Streamable HTTP endpoint (remote URLs allowed: bench prints where the load goes)
  --target NAME=SPEC     a labelled target (SPEC: http(s):// URL or a stdio command); repeat with --compare
  --start [NAME=]CMD     a command that serves an HTTP target; bench starts it, waits for the port, stops it after
  --pid [NAME=]PID       a process (and its children) to measure CPU/RSS of, for a server bench did not start
  --era auto|legacy|modern   protocol era (default auto: probe server/discover, fall back to initialize)
  --sessions N           legacy HTTP: spread load over N sessions (default 1)
  --header "K: V"        extra HTTP header on every request (repeatable; e.g. authorization)

Load
  -c, --concurrent N     requests in flight at once (default ${DEFAULT_CONCURRENCY})
  -n, --requests N       measured requests (default ${DEFAULT_REQUESTS} unless --duration is given)
  -d, --duration D       measure for a time instead (e.g. 30s, 2m); with --requests, whichever ends first
  --rate R               open model: send R requests/s on schedule; latency counts from the intended send time
  --warmup N             requests sent first and left out of all figures (default 0)
  --timeout D            per-call timeout (default 30s)
  --connect-timeout D    bound on spawn + handshake / --start (default 30s)
  --time-limit D         hard bound on each run (default 10m, or 2× --duration + 1m)

Operations (default: tools/list)
  --tool NAME            call this tool (tools/call)
  --args JSON            its arguments (repeat to rotate through several argument sets)
  --method METHOD        another method instead (ping, tools/list, resources/list, prompts/list, ...);
                         --args are then its params
  --mix FILE             weighted operations from YAML (see docs/bench.md)

Compare
  --compare              run every target in alternation (A B A B ...) and report per-round and median ratios
                         to the first target
  --rounds N             compare rounds (default ${DEFAULT_COMPARE_ROUNDS}); --requests/--duration apply per round

Output
  --format F             ${REPORT_FORMATS.join('|')}: the report on stdout (default text)
  --out FILE             write the report to FILE, in the format of its extension (.json, .md, .html, else
                         --format); repeatable; the text summary then goes to stdout
  --assert EXPR          fail (exit 1) unless EXPR holds, e.g. "p99<200ms", "error_rate<1%", "throughput>500",
                         "mismatches==0", "NAME:p99_ratio<1.5" (repeatable). Metrics: ${ASSERT_METRICS.join(', ')}
  -q, --quiet            no progress lines on stderr

Exit codes: 0 ok, 1 an assertion failed, 2 bad command line, 3 a target failed, 130 interrupted.
`;

function usage(message: string): GatewayError {
  return new GatewayError('TG_CLI_USAGE', message);
}

interface ParsedArgs {
  options: SessionOptions;
  assertions: Assertion[];
  /** Format of the report on stdout when there is no `--out`. */
  format: ReportFormat;
  /** Report files and their formats. */
  outputs: Array<{ file: string; format: ReportFormat }>;
  /** Printed before the run when bench chose something for the user. */
  notes: string[];
  quiet: boolean;
}

function parseJsonObject(text: string, flag: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw usage(`${flag}: not valid JSON (${(err as Error).message}): ${text}`);
  }
  if (!isObject(value)) throw usage(`${flag}: must be a JSON object, e.g. '{"path":"/tmp/a.txt"}'`);
  return value;
}

function parseHeader(text: string): [string, string] {
  const i = text.indexOf(':');
  const name = i === -1 ? '' : text.slice(0, i).trim();
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw usage(`--header: expected "Name: value", got "${text}"`);
  return [name.toLowerCase(), text.slice(i + 1).trim()];
}

function formatOf(flag: string | undefined): ReportFormat {
  if (flag === undefined) return 'text';
  if (!(REPORT_FORMATS as readonly string[]).includes(flag)) {
    throw usage(`--format: "${flag}" is not one of ${REPORT_FORMATS.join(', ')}`);
  }
  return flag as ReportFormat;
}

/** The format of an `--out` file: by extension, else `--format`. */
function fileFormat(file: string, fallback: ReportFormat): ReportFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.md' || ext === '.markdown') return 'markdown';
  if (ext === '.html' || ext === '.htm') return 'html';
  return fallback;
}

/** Turns `toolgate bench` argv into what a session needs. Throws `TG_CLI_USAGE` on any problem. */
export async function parseBenchArgs(argv: string[]): Promise<ParsedArgs | 'help'> {
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; tokens: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, tokens: true, strict: true });
  } catch (err) {
    throw usage(`${(err as Error).message} (see toolgate bench --help)`);
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (parsed.positionals.length > 0) {
    throw usage(
      `unexpected argument "${parsed.positionals[0]}": give the server with --server "<command>" or --url <endpoint> (quote commands with spaces)`,
    );
  }
  const notes: string[] = [];

  // Targets, in command-line order (the first is the compare reference).
  const targets: TargetSpec[] = [];
  const labelFor = (base: string): string =>
    targets.some((t) => t.label === base) ? `${base}-${targets.length + 1}` : base;
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue;
    if (token.name === 'server') targets.push(stdioSpec(labelFor('server'), token.value, '--server'));
    else if (token.name === 'url') targets.push({ label: labelFor('url'), url: checkUrl(token.value, '--url') });
    else if (token.name === 'target') {
      const l = splitLabel(token.value);
      if (l === undefined) throw usage(`--target: expected NAME=<command or URL>, got "${token.value}"`);
      if (targets.some((t) => t.label === l.label)) throw usage(`--target: the name "${l.label}" is used twice`);
      targets.push(
        /^https?:\/\//i.test(l.value)
          ? { label: l.label, url: checkUrl(l.value, '--target') }
          : stdioSpec(l.label, l.value, '--target'),
      );
    }
  }
  if (targets.length === 0)
    throw usage('give a target: --server "<stdio command>" or --url <http endpoint> (see toolgate bench --help)');
  const compare = v.compare === true;
  if (compare && targets.length < 2)
    throw usage('--compare needs at least two targets (--target NAME=... twice, or --server and --url)');
  if (!compare && targets.length > 1) throw usage('several targets given: add --compare to run them in alternation');
  if (!compare && v.rounds !== undefined) throw usage('--rounds only applies with --compare');

  for (const s of v.start ?? [])
    attach(targets, s, '--start', (t, value) => {
      if (t.url === undefined)
        throw usage(`--start: target "${t.label}" is a stdio server (bench starts those itself)`);
      t.start = splitCommandLine(value);
      if (t.start.length === 0) throw usage('--start: empty command');
    });
  for (const p of v.pid ?? [])
    attach(targets, p, '--pid', (t, value) => {
      t.pid = parsePositiveInt(value, '--pid', 2 ** 22);
    });

  // Load shape.
  const concurrency =
    v.concurrent === undefined ? DEFAULT_CONCURRENCY : parsePositiveInt(v.concurrent, '--concurrent', MAX_CONCURRENCY);
  const durationMs = v.duration === undefined ? undefined : parseDuration(v.duration, '--duration');
  if (durationMs !== undefined && durationMs > MAX_DURATION_MS) throw usage('--duration: at most 24h');
  const requests =
    v.requests !== undefined
      ? parsePositiveInt(v.requests, '--requests', MAX_REQUESTS)
      : durationMs === undefined
        ? DEFAULT_REQUESTS
        : undefined;
  const ratePerSec = v.rate === undefined ? undefined : parseRate(v.rate, '--rate');
  const timeoutMs = v.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(v.timeout, '--timeout');
  const connectTimeoutMs =
    v['connect-timeout'] === undefined
      ? DEFAULT_CONNECT_TIMEOUT_MS
      : parseDuration(v['connect-timeout'], '--connect-timeout');
  const timeLimitMs =
    v['time-limit'] !== undefined
      ? parseDuration(v['time-limit'], '--time-limit')
      : durationMs !== undefined
        ? durationMs * 2 + 60_000
        : DEFAULT_TIME_LIMIT_MS;
  const warmup = v.warmup === undefined ? 0 : parsePositiveInt(v.warmup, '--warmup', MAX_REQUESTS, true);
  const plan: LoadPlan = { concurrency, requests, durationMs, warmup, ratePerSec, timeoutMs, timeLimitMs };

  const era = v.era ?? 'auto';
  if (era !== 'auto' && era !== 'legacy' && era !== 'modern')
    throw usage(`--era: "${era}" is not auto, legacy or modern`);
  const sessions = v.sessions === undefined ? 1 : parsePositiveInt(v.sessions, '--sessions', 1000);
  if (v.sessions !== undefined && !targets.some((t) => t.url !== undefined))
    throw usage('--sessions applies to HTTP targets (--url) only');
  const headers: Record<string, string> = {};
  for (const h of v.header ?? []) {
    const [name, value] = parseHeader(h);
    headers[name] = value;
  }

  const operations = await operationsOf(v, notes);
  const assertions = (v.assert ?? []).map(parseAssertion);
  const format = formatOf(v.format);
  const outputs = (v.out ?? []).map((file) => ({ file, format: fileFormat(file, format) }));
  const rounds = compare
    ? v.rounds === undefined
      ? DEFAULT_COMPARE_ROUNDS
      : parsePositiveInt(v.rounds, '--rounds', 100)
    : 1;
  return {
    options: {
      targets,
      rounds,
      plan,
      era,
      sessions,
      connectTimeoutMs,
      headers,
      operations,
      log: undefined,
      progress: undefined,
    },
    assertions,
    format,
    outputs,
    notes,
    quiet: v.quiet === true,
  };
}

function stdioSpec(label: string, command: string, flag: string): TargetSpec {
  const argv = splitCommandLine(command);
  if (argv.length === 0) throw usage(`${flag}: empty command`);
  return { label, argv };
}

function checkUrl(text: string, flag: string): string {
  try {
    const u = new URL(text);
    if (u.protocol === 'http:' || u.protocol === 'https:') return text;
  } catch {
    // fall through
  }
  throw usage(`${flag}: "${text}" is not an http(s) URL`);
}

/** Applies `[NAME=]VALUE` to the named target, or to the only candidate when no name is given. */
function attach(targets: TargetSpec[], raw: string, flag: string, apply: (t: TargetSpec, value: string) => void): void {
  const l = splitLabel(raw);
  const named = l === undefined ? undefined : targets.find((t) => t.label === l.label);
  if (named !== undefined && l !== undefined) return apply(named, l.value);
  const http = targets.filter((t) => t.url !== undefined);
  const candidates = flag === '--start' && http.length > 0 ? http : targets;
  if (candidates.length !== 1)
    throw usage(
      `${flag}: with several targets, write ${flag} NAME=... (names: ${targets.map((t) => t.label).join(', ')})`,
    );
  apply(candidates[0]!, raw);
}

async function operationsOf(v: Record<string, unknown>, notes: string[]): Promise<OperationSpec[]> {
  const tool = v['tool'] as string | undefined;
  const method = v['method'] as string | undefined;
  const mix = v['mix'] as string | undefined;
  const args = ((v['args'] as string[] | undefined) ?? []).map((a) => parseJsonObject(a, '--args'));
  if (mix !== undefined) {
    if (tool !== undefined || method !== undefined || args.length > 0)
      throw usage('--mix replaces --tool/--method/--args: give one or the other');
    return loadMixFile(mix);
  }
  if (tool !== undefined && method !== undefined && method !== 'tools/call')
    throw usage('--tool and --method name different operations: give one');
  if (tool !== undefined) return [{ label: tool, method: 'tools/call', name: tool, weight: 1, argSets: args }];
  if (method !== undefined) {
    if (method === 'tools/call') throw usage('--method tools/call needs the tool: use --tool NAME');
    return [{ label: method, method, weight: 1, argSets: args }];
  }
  if (args.length > 0) throw usage('--args needs --tool NAME (or --method)');
  notes.push('no --tool, --method or --mix given: benchmarking tools/list (read-only, offered by every tool server)');
  return [{ label: 'tools/list', method: 'tools/list', weight: 1, argSets: [] }];
}

const OPTIONS = {
  server: { type: 'string', multiple: true },
  url: { type: 'string', multiple: true },
  target: { type: 'string', multiple: true },
  start: { type: 'string', multiple: true },
  pid: { type: 'string', multiple: true },
  era: { type: 'string' },
  sessions: { type: 'string' },
  header: { type: 'string', multiple: true },
  concurrent: { type: 'string', short: 'c' },
  requests: { type: 'string', short: 'n' },
  duration: { type: 'string', short: 'd' },
  rate: { type: 'string' },
  warmup: { type: 'string' },
  timeout: { type: 'string' },
  'connect-timeout': { type: 'string' },
  'time-limit': { type: 'string' },
  tool: { type: 'string' },
  args: { type: 'string', multiple: true },
  method: { type: 'string' },
  mix: { type: 'string' },
  compare: { type: 'boolean' },
  rounds: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string', multiple: true },
  assert: { type: 'string', multiple: true },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Renders a report in one format. */
export function renderReport(report: BenchReport, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    case 'text':
      return renderText(report);
  }
}

/** Progress output on stderr: an updating line on a terminal, a line every few seconds otherwise. */
function progressWriter(): (line: string, final: boolean) => void {
  const tty = process.stderr.isTTY === true;
  let ticks = 0;
  return (line, final) => {
    if (tty) process.stderr.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
    else if (final || ++ticks % 5 === 0) process.stderr.write(`${line}\n`);
  };
}

/** The `toolgate bench` command. */
export async function benchCommand(argv: string[]): Promise<number> {
  const parsed = await parseBenchArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const { options, assertions, format, outputs, notes, quiet } = parsed;
  const log = quiet ? undefined : (line: string): void => void process.stderr.write(`${line}\n`);
  options.log = log;
  options.progress = quiet ? undefined : progressWriter();
  for (const n of notes) log?.(`bench: ${n}`);

  const loadBefore = loadAverage();
  const session = new BenchSession(options);
  let interrupts = 0;
  const onSigint = (): void => {
    // First Ctrl-C: stop and still report. Second: leave now (the exit hook kills the process groups).
    if (++interrupts > 1) process.exit(EXIT_INTERRUPTED);
    log?.('bench: interrupted: finishing in-flight requests (Ctrl-C again to quit at once)');
    session.interrupt();
  };
  process.on('SIGINT', onSigint);
  let result;
  try {
    result = await session.run();
  } catch (err) {
    if (isGatewayError(err) && err.code === 'TG_BENCH_TARGET_FAILED') {
      process.stderr.write(`toolgate bench: ${err.message} [${err.code}]\n`);
      return EXIT_TARGET_FAILED;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }

  const report = buildReport(
    ['toolgate', 'bench', ...argv],
    result.targets,
    result.compare,
    [],
    result.warnings,
    loadBefore,
  );
  report.assertions = evaluateAssertions(assertions, report);
  if (outputs.length > 0) {
    for (const o of outputs) {
      await writeFile(o.file, renderReport(report, o.format));
      log?.(`bench: ${o.format} report written to ${o.file}`);
    }
    process.stdout.write(renderText(report));
  } else {
    process.stdout.write(renderReport(report, format));
  }

  if (result.interrupted) return EXIT_INTERRUPTED;
  if (report.targets.some((t) => t.stopReason === 'target-failed' || t.stopReason === 'unreachable'))
    return EXIT_TARGET_FAILED;
  if (report.assertions.some((a) => !a.pass)) return EXIT_ASSERTION_FAILED;
  return 0;
}
