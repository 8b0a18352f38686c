import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Document } from 'yaml';
import type { z } from 'zod';
import { GatewayError } from '../errors.js';
import { checkReliabilitySettings } from './reliability-settings.js';
import { ConfigSchema, type Config } from './schema.js';
import { securityProblems } from './security.js';

/** One problem found in a configuration file. */
export interface ConfigProblem {
  /** Dotted path of the offending key (`upstreams.files.command`), or `(file)` for syntax problems. */
  path: string;
  message: string;
  hint?: string;
  /** 1-based line in the file, when known. */
  line?: number;
}

/** A validated configuration and where it came from. */
export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file, or `undefined` for an in-memory config. */
  file: string | undefined;
  /** Directory relative paths in the config resolve against. */
  dir: string;
  /** Non-fatal findings (e.g. a literal secret). */
  warnings: ConfigProblem[];
}

/** Options of `parseConfig`. */
export interface ParseConfigOptions {
  /** Environment used for `${VAR}` interpolation (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Directory for relative paths (default: the file's directory, or cwd). */
  dir?: string;
  /** File name used in messages. */
  file?: string;
}

/** Reads, interpolates and validates a configuration file. Throws `GatewayError` with every problem listed. */
export async function loadConfigFile(
  path: string,
  options: Omit<ParseConfigOptions, 'file' | 'dir'> = {},
): Promise<LoadedConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new GatewayError('TG_CONFIG_NOT_FOUND', `cannot read config ${file}: ${reason}`, { cause: err });
  }
  return parseConfig(text, { ...options, file, dir: dirname(file) });
}

/** Parses, interpolates and validates configuration text (YAML or JSON). */
export function parseConfig(text: string, options: ParseConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const fileLabel = options.file ?? '(inline config)';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const line = e.linePos?.[0]?.line;
      const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?\s*$/, '');
      const p: ConfigProblem = { path: '(file)', message: first, hint: 'fix the YAML syntax' };
      if (line !== undefined) p.line = line;
      return p;
    });
    throw configError(fileLabel, problems);
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const lineOf = (path: readonly PropertyKey[]): number | undefined => lineOfPath(doc, lineCounter, path);

  // ${VAR} interpolation on values (never keys), before validation so types are checked on the result.
  const problems: ConfigProblem[] = [];
  const interpolated = interpolate(raw, [], env, problems, lineOf);
  if (problems.length > 0) throw configError(fileLabel, problems);

  const parsed = ConfigSchema.safeParse(interpolated);
  if (!parsed.success) {
    throw configError(
      fileLabel,
      parsed.error.issues.map((i) => issueToProblem(i, interpolated, lineOf)),
    );
  }
  const config = parsed.data;
  const semantic = checkSemantics(config);
  for (const p of semantic) {
    const line = lineOf(p.path.split('.'));
    if (line !== undefined) p.line = line;
  }
  if (semantic.length > 0) throw configError(fileLabel, semantic);

  const warnings = findLiteralSecrets(raw, []);
  for (const w of warnings) {
    const line = lineOf(w.path.split('.'));
    if (line !== undefined) w.line = line;
  }
  return { config, file: options.file, dir: options.dir ?? process.cwd(), warnings };
}

/** Formats problems one per line: `path (line N): message — hint`. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map(
      (p) =>
        `  ${p.path}${p.line !== undefined ? ` (line ${p.line})` : ''}: ${p.message}${p.hint ? ` — ${p.hint}` : ''}`,
    )
    .join('\n');
}

function configError(file: string, problems: ConfigProblem[]): GatewayError {
  const envMissing = problems.length > 0 && problems.every((p) => p.message.startsWith('environment variable'));
  const n = problems.length;
  return new GatewayError(
    envMissing ? 'TG_CONFIG_ENV_MISSING' : 'TG_CONFIG_INVALID',
    `${file}: ${n} problem${n === 1 ? '' : 's'}\n${formatProblems(problems)}`,
    { data: { problems } },
  );
}

const ENV_REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function interpolate(
  value: unknown,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('$')) return value;
    return value.replace(ENV_REF, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === '$$') return '$';
      const v = env[name as string];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      const p: ConfigProblem = {
        path: dotted(path),
        message: `environment variable ${name} is not set`,
        hint: `export ${name}=… before starting, or write \${${name}:-default}`,
      };
      const line = lineOf(path);
      if (line !== undefined) p.line = line;
      problems.push(p);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, [...path, i], env, problems, lineOf));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, [...path, k], env, problems, lineOf);
    return out;
  }
  return value;
}

function dotted(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map((p) => String(p)).join('.');
}

function issueToProblem(
  issue: z.core.$ZodIssue,
  data: unknown,
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
): ConfigProblem {
  const path = issue.path as PropertyKey[];
  const problem: ConfigProblem = { path: dotted(path), message: issue.message };
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(ConfigSchema, path, data);
      const hints = issue.keys.map((k) => {
        const close = closest(k, known);
        return close ? `"${k}" → did you mean "${close}"?` : `"${k}" is not a known key`;
      });
      problem.message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      problem.hint = [
        ...hints.filter((h) => h.includes('did you mean')),
        known.length > 0 ? `allowed: ${known.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      const line = lineOf([...path, issue.keys[0] as string]);
      if (line !== undefined) problem.line = line;
      return problem;
    }
    case 'invalid_union': {
      const opts = (issue as { options?: unknown[] }).options;
      if (Array.isArray(opts)) {
        problem.message = `unknown ${String(path[path.length - 1] ?? 'value')} ${JSON.stringify(getAt(data, path))}`;
        problem.hint = `one of: ${opts.map(String).join(', ')}`;
      }
      break;
    }
    case 'invalid_type': {
      const got = getAt(data, path);
      if (got === undefined) {
        problem.message = `missing required key (expected ${issue.expected})`;
      } else {
        problem.message = `expected ${issue.expected}, got ${describeValue(got)}`;
        if (issue.expected === 'number' && typeof got === 'string' && got.trim() !== '' && !Number.isNaN(Number(got))) {
          problem.hint = 'write the number without quotes';
        }
      }
      break;
    }
    case 'invalid_value':
      problem.hint = `one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    default:
      break;
  }
  const line = lineOf(path);
  if (line !== undefined) problem.line = line;
  return problem;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function getAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Keys allowed at `path` in the schema (objects, records of objects, discriminated unions keyed by the data). */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[], data: unknown): string[] {
  let cur: z.ZodType | undefined = schema;
  const walked: PropertyKey[] = [];
  const unwrap = (s: z.ZodType): z.ZodType => {
    let t: z.ZodType = s;
    for (let i = 0; i < 10; i++) {
      const def = (t as { def?: { type?: string; innerType?: z.ZodType } }).def;
      if (
        def &&
        (def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable') &&
        def.innerType
      ) {
        t = def.innerType;
      } else break;
    }
    return t;
  };
  const resolveUnion = (s: z.ZodType, at: readonly PropertyKey[]): z.ZodType => {
    const def = (s as { def?: { type?: string; options?: z.ZodType[]; discriminator?: string } }).def;
    if (def?.type === 'union' && def.options && def.discriminator) {
      const kind = getAt(data, [...at, def.discriminator]);
      const match = def.options.find((o) => {
        const shape = (o as { shape?: Record<string, z.ZodType> }).shape;
        const lit = shape?.[def.discriminator as string];
        return (lit as { def?: { values?: unknown[] } } | undefined)?.def?.values?.includes(kind);
      });
      return match ?? s;
    }
    return s;
  };
  for (const key of path) {
    if (cur === undefined) return [];
    cur = resolveUnion(unwrap(cur), walked);
    const def = (cur as { def?: { type?: string; valueType?: z.ZodType } }).def;
    const shape = (cur as { shape?: Record<string, z.ZodType> }).shape;
    if (def?.type === 'record') cur = def.valueType;
    else if (shape) cur = shape[key as string];
    else return [];
    walked.push(key);
  }
  if (cur === undefined) return [];
  cur = resolveUnion(unwrap(cur), walked);
  const shape = (cur as { shape?: Record<string, z.ZodType> }).shape;
  return shape ? Object.keys(shape) : [];
}

/** The closest candidate within a small edit distance, if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

/** Levenshtein distance (small strings only: config keys). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min(tmp + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}

/** Cross-field rules zod cannot express. */
function checkSemantics(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = checkReliabilitySettings(config);
  problems.push(...securityProblems(config));
  const sep = config.naming.separator;
  const prefixes = new Map<string, string>();
  for (const [name, up] of Object.entries(config.upstreams)) {
    if (name.includes(sep)) {
      problems.push({
        path: `upstreams.${name}`,
        message: `upstream name contains the namespace separator "${sep}"`,
        hint: 'rename the upstream or change naming.separator',
      });
    }
    const ns = up.namespace === undefined ? name : up.namespace;
    if (ns !== false && ns !== '') {
      if (ns.includes(sep)) {
        problems.push({
          path: `upstreams.${name}.namespace`,
          message: `namespace contains the separator "${sep}"`,
          hint: 'choose another namespace',
        });
      }
      const other = prefixes.get(ns);
      if (other !== undefined) {
        problems.push({
          path: `upstreams.${name}.namespace`,
          message: `namespace "${ns}" is already used by upstream "${other}": their tool names would collide`,
          hint: 'give one of them another namespace',
        });
      } else prefixes.set(ns, name);
    }
  }
  return problems;
}

const SECRET_KEY = /(secret|token|password|passwd|api[_-]?key|authorization|credential)/i;

/** Literal (non-${VAR}) values under secret-looking keys of env/headers maps: secrets belong in the environment. */
function findLiteralSecrets(raw: unknown, path: string[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (typeof raw !== 'object' || raw === null) return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const here = [...path, k];
    const parent = path[path.length - 1];
    if (
      typeof v === 'string' &&
      (parent === 'env' || parent === 'headers') &&
      SECRET_KEY.test(k) &&
      v !== '' &&
      !v.includes('${')
    ) {
      out.push({
        path: here.join('.'),
        message: 'looks like a secret written as a literal',
        hint: `write it as \${${k.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}} and set the variable in the environment`,
      });
    } else if (typeof v === 'object') out.push(...findLiteralSecrets(v, here));
  }
  return out;
}

function lineOfPath(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  // Walk down as far as the path exists; report the deepest node found (a missing key reports its parent).
  let node: unknown = doc.contents;
  let found: unknown = node;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      found = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      found = node;
    } else break;
  }
  const range = (found as { range?: [number, number, number] } | null)?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}
