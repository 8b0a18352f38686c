import type { JsonObject } from '../types.js';
import {
  displayPath,
  pointerSegments,
  resolveLocalRef,
  type ErrorObject,
  type ValidateFunction,
} from './schema-compiler.js';

/** How arguments that fail validation are repaired: apply, only suggest, or leave alone. */
export type AutocorrectMode = 'off' | 'suggest' | 'fix';

/** The rule behind a correction (stable names: they appear in `_meta` and metric labels). */
export type CorrectionRule =
  'enum-normalized' | 'enum-nearest' | 'string-to-number' | 'string-to-boolean' | 'wrap-in-array' | 'schema-default';

/** One repair of the arguments, as reported in `_meta["toolgate/corrections"]`. */
export interface Correction {
  readonly path: string;
  readonly from: unknown;
  readonly to: unknown;
  readonly rule: CorrectionRule;
}

/** What the corrector concluded about one failing location. */
export interface PathVerdict {
  /** The repair, when exactly one is plausible. */
  readonly fix?: Correction;
  /** Near-miss candidates when several are equally plausible (no repair is made). */
  readonly candidates?: readonly unknown[];
}

/** The outcome of `correctArguments`. */
export interface CorrectionOutcome {
  /** Arguments after the repairs (the input object itself when nothing was repaired). */
  readonly args: JsonObject;
  readonly corrections: readonly Correction[];
  /** True when the repaired arguments validate. */
  readonly valid: boolean;
  /** Verdicts by instance pointer of the original errors (for "did you mean …" in the error message). */
  readonly verdicts: ReadonlyMap<string, PathVerdict>;
  /** Errors of the original arguments. */
  readonly errors: readonly ErrorObject[];
}

const MAX_PASSES = 3;

/**
 * Repairs unambiguous mistakes in arguments that failed `validate`: enum near-misses (case, whitespace, `-`/`_`/space,
 * or a unique candidate within a small edit distance), numbers and booleans sent as strings, a single value where
 * an array is expected, then missing optional fields that have a schema default. Ambiguous cases are never
 * repaired; their candidates are returned. Runs a few passes (a wrapped value may reveal an enum miss inside) and
 * revalidates; the input is never mutated.
 */
export function correctArguments(
  validate: ValidateFunction,
  root: JsonObject,
  args: JsonObject,
  defaults: DefaultsPlan | undefined,
): CorrectionOutcome {
  validate(args);
  const errors = [...(validate.errors ?? [])];
  const verdicts = new Map<string, PathVerdict>();
  const corrections: Correction[] = [];
  let current = args;
  let currentErrors: readonly ErrorObject[] = errors;
  let valid = false;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const proposals = proposeFixes(currentErrors, current);
    if (pass === 0) for (const [pointer, verdict] of proposals) verdicts.set(pointer, verdict);
    const fixes = [...proposals].filter(([, v]) => v.fix !== undefined);
    if (fixes.length === 0) break;
    if (current === args) current = structuredClone(args);
    for (const [pointer, v] of fixes) {
      const fix = v.fix as Correction;
      // A copy goes into the arguments: a later pass may repair inside it, and the report must keep what this pass did.
      setAt(current, pointerSegments(pointer), structuredClone(fix.to));
      corrections.push(fix);
    }
    if (validate(current)) {
      valid = true;
      break;
    }
    currentErrors = [...(validate.errors ?? [])];
  }
  if (valid && defaults !== undefined) {
    const filled = fillDefaults(defaults, current);
    if (filled !== undefined && validate(filled.args)) {
      current = filled.args;
      corrections.push(...filled.corrections);
    }
  }
  return { args: current, corrections, valid, verdicts, errors };
}

/** One verdict per failing location, from Ajv's errors. */
export function proposeFixes(errors: readonly ErrorObject[], args: JsonObject): Map<string, PathVerdict> {
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    if (e.keyword === 'required' || e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties')
      continue;
    let list = byPath.get(e.instancePath);
    if (list === undefined) byPath.set(e.instancePath, (list = []));
    list.push(e);
  }
  const out = new Map<string, PathVerdict>();
  for (const [pointer, list] of byPath) {
    const segments = pointerSegments(pointer);
    const { found, value } = getAt(args, segments);
    if (!found) continue;
    const verdict = verdictFor(list, value, displayPath(segments));
    if (verdict !== undefined) out.set(pointer, verdict);
  }
  return out;
}

function verdictFor(errors: readonly ErrorObject[], value: unknown, path: string): PathVerdict | undefined {
  const allowed = allowedValues(errors);
  if (allowed !== undefined && typeof value === 'string') {
    const enumVerdict = matchEnum(value, allowed, path);
    if (enumVerdict !== undefined) return enumVerdict;
  }
  const types = expectedTypes(errors);
  if (types.size === 0) return undefined;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if ((types.has('number') || types.has('integer')) && NUMERIC.test(trimmed)) {
      const n = Number(trimmed);
      if (Number.isFinite(n) && (types.has('number') || Number.isInteger(n)))
        return { fix: { path, from: value, to: n, rule: 'string-to-number' } };
    }
    if (types.has('boolean') && /^(true|false)$/i.test(trimmed)) {
      return { fix: { path, from: value, to: trimmed.toLowerCase() === 'true', rule: 'string-to-boolean' } };
    }
  }
  if (types.has('array') && !Array.isArray(value) && value !== null && value !== undefined) {
    return { fix: { path, from: value, to: [value], rule: 'wrap-in-array' } };
  }
  return undefined;
}

const NUMERIC = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The values an enum-like schema allows (`enum`, `const`, or `oneOf`/`anyOf` of `const`s), from its errors. */
export function allowedValues(errors: readonly ErrorObject[]): unknown[] | undefined {
  for (const e of errors) {
    if (e.keyword === 'enum') return [...((e.params as { allowedValues?: unknown[] }).allowedValues ?? [])];
    if ((e.keyword === 'oneOf' || e.keyword === 'anyOf') && e.parentSchema !== undefined) {
      const consts = constBranches(e.parentSchema as JsonObject, e.keyword);
      if (consts !== undefined) return consts.map((c) => c.value);
    }
  }
  for (const e of errors)
    if (e.keyword === 'const' && !/\/(oneOf|anyOf)\/\d+\/const$/.test(e.schemaPath))
      return [(e.params as { allowedValue?: unknown }).allowedValue];
  return undefined;
}

/** `oneOf`/`anyOf` whose every branch is `{ const, description? | title? }`: an enum with descriptions. */
export function constBranches(
  schema: JsonObject,
  keyword: 'oneOf' | 'anyOf',
): { value: unknown; description?: string }[] | undefined {
  const branches = schema[keyword];
  if (!Array.isArray(branches) || branches.length === 0) return undefined;
  const out: { value: unknown; description?: string }[] = [];
  for (const b of branches) {
    if (typeof b !== 'object' || b === null || Array.isArray(b) || !('const' in b)) return undefined;
    const d = (b as JsonObject)['description'] ?? (b as JsonObject)['title'];
    out.push(
      typeof d === 'string'
        ? { value: (b as JsonObject)['const'], description: d }
        : { value: (b as JsonObject)['const'] },
    );
  }
  return out;
}

function expectedTypes(errors: readonly ErrorObject[]): Set<string> {
  const types = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'type') continue;
    const t = (e.params as { type?: string | string[] }).type;
    for (const x of Array.isArray(t) ? t : String(t).split(',')) types.add(x);
  }
  return types;
}

const normalize = (s: string): string =>
  s
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '_');

/** Enum near-miss matching: normalized equality first, then a unique nearest candidate within a small distance. */
export function matchEnum(value: string, allowed: readonly unknown[], path: string): PathVerdict | undefined {
  const trimmed = value.trim();
  const numeric = allowed.filter((a) => typeof a === 'number');
  if (numeric.length > 0 && NUMERIC.test(trimmed) && numeric.includes(Number(trimmed))) {
    return { fix: { path, from: value, to: Number(trimmed), rule: 'string-to-number' } };
  }
  const strings = allowed.filter((a): a is string => typeof a === 'string');
  if (strings.length === 0) return undefined;
  const wanted = normalize(value);
  const same = strings.filter((s) => normalize(s) === wanted);
  if (same.length === 1) return { fix: { path, from: value, to: same[0], rule: 'enum-normalized' } };
  if (same.length > 1) return { candidates: same };
  const limit = wanted.length <= 3 ? 0 : wanted.length <= 6 ? 1 : 2;
  if (limit === 0) return undefined;
  let best = limit + 1;
  let nearest: string[] = [];
  for (const s of strings) {
    const d = editDistance(wanted, normalize(s), best);
    if (d < best) {
      best = d;
      nearest = [s];
    } else if (d === best) nearest.push(s);
  }
  if (best > limit || nearest.length === 0) return undefined;
  if (nearest.length === 1) return { fix: { path, from: value, to: nearest[0], rule: 'enum-nearest' } };
  return { candidates: nearest };
}

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions), giving up above `max`
 * (returns max + 1) so long strings cost little.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const m = a.length;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, (prev2[j - 2] as number) + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return Math.min(prev[n] as number, max + 1);
}

/** Optional properties with a schema `default`, per object level (precomputed once per tool). */
export interface DefaultsPlan {
  readonly fields: readonly { readonly key: string; readonly value: unknown }[];
  readonly nested: readonly { readonly key: string; readonly plan: DefaultsPlan }[];
}

/**
 * Builds the defaults plan of an object schema: its non-required `properties` with a `default`, and nested object
 * properties (local `$ref`s followed). Arrays and combinators are not entered. Undefined when there is nothing to fill.
 */
export function planDefaults(schema: unknown, root: JsonObject, depth = 0): DefaultsPlan | undefined {
  const s = resolveLocalRef(schema, root);
  if (s === undefined || depth > 6) return undefined;
  const props = s['properties'];
  if (typeof props !== 'object' || props === null || Array.isArray(props)) return undefined;
  const required = new Set(Array.isArray(s['required']) ? (s['required'] as unknown[]) : []);
  const fields: { key: string; value: unknown }[] = [];
  const nested: { key: string; plan: DefaultsPlan }[] = [];
  for (const [key, raw] of Object.entries(props)) {
    const p = resolveLocalRef(raw, root);
    if (p === undefined) continue;
    if (!required.has(key) && 'default' in p) fields.push({ key, value: p['default'] });
    const inner = planDefaults(p, root, depth + 1);
    if (inner !== undefined) nested.push({ key, plan: inner });
  }
  return fields.length === 0 && nested.length === 0 ? undefined : { fields, nested };
}

/** Fills missing defaulted fields; undefined when nothing was missing (the common case allocates nothing). */
export function fillDefaults(
  plan: DefaultsPlan,
  args: JsonObject,
): { args: JsonObject; corrections: Correction[] } | undefined {
  let out: JsonObject | undefined;
  let corrections: Correction[] | undefined;
  const visit = (
    p: DefaultsPlan,
    obj: Record<string, unknown>,
    segments: string[],
    assign: (copy: Record<string, unknown>) => void,
  ): void => {
    let copy: Record<string, unknown> | undefined;
    const writable = (): Record<string, unknown> => {
      if (copy === undefined) {
        copy = { ...obj };
        assign(copy);
      }
      return copy;
    };
    for (const f of p.fields) {
      if (Object.hasOwn(obj, f.key)) continue;
      const value = structuredClone(f.value);
      writable()[f.key] = value;
      (corrections ??= []).push({
        path: displayPath([...segments, f.key]),
        from: undefined,
        to: value,
        rule: 'schema-default',
      });
    }
    for (const n of p.nested) {
      const child = obj[n.key];
      if (typeof child !== 'object' || child === null || Array.isArray(child)) continue;
      visit(n.plan, child as Record<string, unknown>, [...segments, n.key], (c) => {
        writable()[n.key] = c;
      });
    }
  };
  visit(plan, args, [], (c) => {
    out = c as JsonObject;
  });
  return out === undefined || corrections === undefined ? undefined : { args: out, corrections };
}

/** Reads the value at a path. */
export function getAt(root: unknown, segments: readonly string[]): { found: boolean; value: unknown } {
  let node: unknown = root;
  for (const s of segments) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, s)) return { found: false, value: undefined };
    node = (node as Record<string, unknown>)[s];
  }
  return { found: true, value: node };
}

/** Writes the value at a path (the root itself is never replaced). */
export function setAt(root: unknown, segments: readonly string[], value: unknown): void {
  if (segments.length === 0) return;
  let node = root as Record<string, unknown>;
  for (let i = 0; i < segments.length - 1; i++) node = node[segments[i] as string] as Record<string, unknown>;
  node[segments[segments.length - 1] as string] = value;
}

/** Deletes the value at a path. */
export function deleteAt(root: unknown, segments: readonly string[]): void {
  if (segments.length === 0) return;
  const parent = getAt(root, segments.slice(0, -1)).value;
  const last = segments[segments.length - 1] as string;
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (typeof parent === 'object' && parent !== null) delete (parent as Record<string, unknown>)[last];
}
