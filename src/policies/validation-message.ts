import type { JsonObject } from '../types.js';
import { constBranches, deleteAt, getAt, setAt, type PathVerdict } from './autocorrect.js';
import {
  displayPath,
  pointerSegments,
  resolveLocalRef,
  type ErrorObject,
  type ValidateFunction,
} from './schema-compiler.js';

/** One offending field, as told to the model and put in `_meta["toolgate/error"].data.problems`. */
export interface ArgumentProblem {
  readonly path: string;
  readonly message: string;
}

const MAX_PROBLEMS = 10;
const MAX_ALLOWED_SHOWN = 20;
const MAX_VALUE_CHARS = 60;

/**
 * Turns Ajv errors into one line per offending field: what was expected (type, format, range, pattern), the allowed
 * values with their descriptions for enums, what was sent, and a "did you mean" when auto-correction found one.
 */
export function describeProblems(
  errors: readonly ErrorObject[],
  args: JsonObject,
  root: JsonObject,
  verdicts: ReadonlyMap<string, PathVerdict>,
): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const seen = new Set<string>();
  const byPath = groupByPath(errors);
  for (const e of errors) {
    if (e.keyword === 'required') {
      const missing = String((e.params as { missingProperty?: string }).missingProperty);
      const segments = [...pointerSegments(e.instancePath), missing];
      const key = segments.join('\u0000');
      if (seen.has(key)) continue;
      seen.add(key);
      const props = (e.parentSchema as JsonObject | undefined)?.['properties'] as Record<string, unknown> | undefined;
      const sub = resolveLocalRef(props?.[missing], root);
      problems.push({
        path: displayPath(segments),
        message: `missing (required${sub === undefined ? '' : `, ${expectation(sub, root)}`}).`,
      });
      continue;
    }
    if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') {
      const extra = String(
        (e.params as { additionalProperty?: string; unevaluatedProperty?: string }).additionalProperty ??
          (e.params as { unevaluatedProperty?: string }).unevaluatedProperty,
      );
      const segments = [...pointerSegments(e.instancePath), extra];
      const key = segments.join('\u0000');
      if (seen.has(key)) continue;
      seen.add(key);
      const props = Object.keys(
        ((e.parentSchema as JsonObject | undefined)?.['properties'] as object | undefined) ?? {},
      );
      const allowed =
        props.length === 0
          ? 'no other fields are allowed'
          : `allowed fields: ${listOf(
              props.map((p) => p),
              20,
            )}`;
      problems.push({ path: displayPath(segments), message: `unknown field; ${allowed}.` });
      continue;
    }
    if (seen.has(e.instancePath)) continue;
    seen.add(e.instancePath);
    const group = byPath.get(e.instancePath) ?? [e];
    const segments = pointerSegments(e.instancePath);
    const got = getAt(args, segments).value;
    const verdict = verdicts.get(e.instancePath);
    problems.push({ path: displayPath(segments), message: fieldMessage(group, got, root, verdict) });
  }
  if (problems.length > MAX_PROBLEMS) {
    const more = problems.length - MAX_PROBLEMS;
    problems.length = MAX_PROBLEMS;
    problems.push({ path: '…', message: `and ${more} more problem${more === 1 ? '' : 's'}.` });
  }
  return problems;
}

/** The model-facing text of a validation failure. Its shape is pinned by a test: keep it short and stable. */
export function formatInvalidArguments(
  toolName: string,
  problems: readonly ArgumentProblem[],
  example: JsonObject | undefined,
): string {
  const n = problems.filter((p) => p.path !== '…').length;
  const lines = [`Invalid arguments for tool "${toolName}" (${n} problem${n === 1 ? '' : 's'}):`];
  for (const p of problems) lines.push(p.path === '…' ? `- ${p.message}` : `- ${p.path}: ${p.message}`);
  if (example !== undefined) lines.push(`Example of a valid call: ${toolName} ${renderExample(example)}`);
  lines.push('Fix the arguments and call the tool again.');
  return lines.join('\n');
}

function groupByPath(errors: readonly ErrorObject[]): Map<string, ErrorObject[]> {
  const out = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    let list = out.get(e.instancePath);
    if (list === undefined) out.set(e.instancePath, (list = []));
    list.push(e);
  }
  return out;
}

/** The schema at an error's location: the parent schema of the error with the shortest schema path there. */
function schemaAt(group: readonly ErrorObject[]): JsonObject | undefined {
  let best: ErrorObject | undefined;
  for (const e of group) {
    if (e.keyword === 'required' || e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties')
      continue;
    if (best === undefined || e.schemaPath.length < best.schemaPath.length) best = e;
  }
  return best?.parentSchema as JsonObject | undefined;
}

function fieldMessage(
  group: readonly ErrorObject[],
  got: unknown,
  root: JsonObject,
  verdict: PathVerdict | undefined,
): string {
  const schema = schemaAt(group) ?? {};
  const allowed = allowedWithDescriptions(schema);
  const sent = `got ${render(got)}${typeof got === 'string' && allowed === undefined && wrongType(group) ? ' (a string)' : ''}`;
  let text: string;
  if (allowed !== undefined) {
    const shown = allowed
      .slice(0, MAX_ALLOWED_SHOWN)
      .map((a) => (a.description === undefined ? render(a.value) : `${render(a.value)} (${a.description})`));
    const more = allowed.length > MAX_ALLOWED_SHOWN ? ` … (${allowed.length - MAX_ALLOWED_SHOWN} more)` : '';
    text = `must be one of ${shown.join(', ')}${more}; ${sent}.`;
  } else {
    text = `expected ${expectation(schema, root)}; ${sent}.`;
  }
  if (verdict?.fix !== undefined) text += ` Did you mean ${render(verdict.fix.to)}?`;
  else if (verdict?.candidates !== undefined)
    text += ` Did you mean one of ${verdict.candidates.map(render).join(', ')}?`;
  return text;
}

function wrongType(group: readonly ErrorObject[]): boolean {
  return group.some((e) => e.keyword === 'type');
}

/** Allowed values of an enum-like schema, with descriptions from `enumDescriptions`, `x-enumDescriptions` or `oneOf` consts. */
export function allowedWithDescriptions(schema: JsonObject): { value: unknown; description?: string }[] | undefined {
  const values = schema['enum'];
  if (Array.isArray(values)) {
    const descs = schema['enumDescriptions'] ?? schema['x-enumDescriptions'] ?? schema['markdownEnumDescriptions'];
    return values.map((value, i) => {
      let d: unknown;
      if (Array.isArray(descs)) d = descs[i];
      else if (typeof descs === 'object' && descs !== null && (typeof value === 'string' || typeof value === 'number'))
        d = (descs as JsonObject)[String(value)];
      return typeof d === 'string' && d !== '' ? { value, description: d } : { value };
    });
  }
  if ('const' in schema) return [{ value: schema['const'] }];
  return constBranches(schema, 'oneOf') ?? constBranches(schema, 'anyOf');
}

/** A short description of what a schema accepts: "integer from 1 to 100", "string in format \"date\" (e.g. …)". */
export function expectation(schemaIn: JsonObject, root: JsonObject, depth = 0): string {
  const schema = resolveLocalRef(schemaIn, root) ?? {};
  const allowed = allowedWithDescriptions(schema);
  if (allowed !== undefined)
    return `one of ${listOf(
      allowed.map((a) => render(a.value)),
      10,
    )}`;
  for (const k of ['oneOf', 'anyOf'] as const) {
    const branches = schema[k];
    if (Array.isArray(branches) && branches.length > 0 && depth < 3) {
      const parts = branches.map((b) => expectation((b ?? {}) as JsonObject, root, depth + 1));
      return [...new Set(parts)].join(' or ');
    }
  }
  const t = schema['type'];
  const types = (Array.isArray(t) ? t : t === undefined ? [] : [t]).map(String);
  const parts: string[] = [types.length === 0 ? 'a value' : types.join(' or ')];
  const has = (k: string): boolean => typeof schema[k] === 'number';
  const num = (k: string): string => String(schema[k]);
  if (has('minimum') && has('maximum')) parts.push(`from ${num('minimum')} to ${num('maximum')}`);
  else {
    if (has('minimum')) parts.push(`≥ ${num('minimum')}`);
    if (has('maximum')) parts.push(`≤ ${num('maximum')}`);
  }
  if (has('exclusiveMinimum')) parts.push(`> ${num('exclusiveMinimum')}`);
  if (has('exclusiveMaximum')) parts.push(`< ${num('exclusiveMaximum')}`);
  if (has('multipleOf')) parts.push(`(a multiple of ${num('multipleOf')})`);
  const chars = (k: string): string => `${num(k)} character${schema[k] === 1 ? '' : 's'}`;
  if (has('minLength') && has('maxLength')) parts.push(`of ${num('minLength')}–${chars('maxLength')}`);
  else if (schema['minLength'] === 1) parts.unshift('non-empty');
  else if (has('minLength')) parts.push(`of at least ${chars('minLength')}`);
  else if (has('maxLength')) parts.push(`of at most ${chars('maxLength')}`);
  if (typeof schema['format'] === 'string') {
    const sample = FORMAT_SAMPLES[schema['format']];
    parts.push(`in format "${schema['format']}"${sample === undefined ? '' : ` (e.g. ${JSON.stringify(sample)})`}`);
  }
  if (typeof schema['pattern'] === 'string') parts.push(`matching /${schema['pattern']}/`);
  if (types.includes('array') && depth < 3) {
    const items = schema['items'];
    if (typeof items === 'object' && items !== null && !Array.isArray(items))
      parts.push(`of ${expectation(items as JsonObject, root, depth + 1)}`);
    if (has('minItems') && has('maxItems')) parts.push(`with ${num('minItems')}–${num('maxItems')} items`);
    else if (has('minItems')) parts.push(`with at least ${num('minItems')} item${schema['minItems'] === 1 ? '' : 's'}`);
    else if (has('maxItems')) parts.push(`with at most ${num('maxItems')} items`);
    if (schema['uniqueItems'] === true) parts.push('(no duplicates)');
  }
  return parts.join(' ');
}

const FORMAT_SAMPLES: Readonly<Record<string, string>> = {
  date: '2025-01-31',
  'date-time': '2025-01-31T12:00:00Z',
  time: '12:00:00Z',
  email: 'user@example.com',
  uri: 'https://example.com/',
  url: 'https://example.com/',
  'uri-reference': 'https://example.com/',
  uuid: '123e4567-e89b-42d3-a456-426614174000',
  hostname: 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  duration: 'P1D',
};

/**
 * One valid call, built from what the caller sent: repaired values kept, each remaining offending value replaced
 * by a value its schema accepts, missing required fields added, unknown ones dropped. Falls back to a minimal call
 * from the schema; undefined when neither validates (a schema too intricate to satisfy by construction).
 */
export function buildExample(validate: ValidateFunction, root: JsonObject, args: JsonObject): JsonObject | undefined {
  const example = structuredClone(args);
  const replaced = new Set<string>();
  for (let pass = 0; pass < 4; pass++) {
    if (validate(example)) return example;
    const errors = [...(validate.errors ?? [])];
    const byPath = groupByPath(errors);
    const thisPass = new Set<string>();
    for (const e of errors) {
      const segments = pointerSegments(e.instancePath);
      if (e.keyword === 'required') {
        const missing = String((e.params as { missingProperty?: string }).missingProperty);
        const props = (e.parentSchema as JsonObject | undefined)?.['properties'] as Record<string, unknown> | undefined;
        const parent = getAt(example, segments).value;
        if (typeof parent === 'object' && parent !== null)
          (parent as Record<string, unknown>)[missing] = exampleValue(props?.[missing], root);
      } else if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') {
        const p = e.params as { additionalProperty?: string; unevaluatedProperty?: string };
        deleteAt(example, [...segments, String(p.additionalProperty ?? p.unevaluatedProperty)]);
      } else if (segments.length === 0 || thisPass.has(e.instancePath)) {
        continue;
      } else if (replaced.has(e.instancePath)) {
        // Our own value did not satisfy the schema either (a pattern, say): leave the field out (if it is
        // required, the next pass puts a value back).
        deleteAt(example, segments);
      } else {
        setAt(example, segments, exampleValue(schemaAt(byPath.get(e.instancePath) ?? [e]), root));
        replaced.add(e.instancePath);
      }
      thisPass.add(e.instancePath);
    }
  }
  if (validate(example)) return example;
  const minimal = exampleValue(root, root);
  return typeof minimal === 'object' && minimal !== null && !Array.isArray(minimal) && validate(minimal)
    ? (minimal as JsonObject)
    : undefined;
}

/** A value the schema accepts, by construction (const, enum, default, examples, then by type and bounds). */
export function exampleValue(schemaIn: unknown, root: JsonObject, depth = 0): unknown {
  const schema = resolveLocalRef(schemaIn, root);
  if (schema === undefined || depth > 6) return null;
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0];
  if ('default' in schema) return schema['default'];
  if (Array.isArray(schema['examples']) && schema['examples'].length > 0) return schema['examples'][0];
  for (const k of ['oneOf', 'anyOf'] as const) {
    const branches = schema[k];
    if (Array.isArray(branches) && branches.length > 0) {
      const first =
        branches.find((b) => typeof b === 'object' && b !== null && (b as JsonObject)['type'] !== 'null') ??
        branches[0];
      return exampleValue(first, root, depth + 1);
    }
  }
  if (Array.isArray(schema['allOf'])) {
    const merged: JsonObject = {};
    for (const part of schema['allOf']) Object.assign(merged, resolveLocalRef(part, root) ?? {});
    return exampleValue({ ...schema, allOf: undefined, ...merged }, root, depth + 1);
  }
  const t = schema['type'];
  const type = String(
    (Array.isArray(t) ? t.find((x) => x !== 'null') : t) ??
      (typeof schema['properties'] === 'object' ? 'object' : 'string'),
  );
  switch (type) {
    case 'integer':
    case 'number': {
      const n = (k: string): number | undefined => (typeof schema[k] === 'number' ? (schema[k] as number) : undefined);
      const step = n('multipleOf') ?? 1;
      let v =
        n('minimum') ??
        (n('exclusiveMinimum') !== undefined ? (n('exclusiveMinimum') as number) + step : undefined) ??
        Math.min(1, n('maximum') ?? 1);
      if (n('multipleOf') !== undefined) v = Math.ceil(v / step) * step;
      if (type === 'integer') v = Math.ceil(v);
      return v;
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array': {
      const min = typeof schema['minItems'] === 'number' ? schema['minItems'] : 0;
      const items = schema['items'];
      return Array.from({ length: Math.min(min, 5) }, () =>
        typeof items === 'object' && items !== null ? exampleValue(items, root, depth + 1) : 'example',
      );
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = (schema['properties'] ?? {}) as Record<string, unknown>;
      const required = Array.isArray(schema['required']) ? (schema['required'] as unknown[]) : [];
      for (const key of required) if (typeof key === 'string') out[key] = exampleValue(props[key], root, depth + 1);
      return out;
    }
    default: {
      if (typeof schema['format'] === 'string' && FORMAT_SAMPLES[schema['format']] !== undefined)
        return FORMAT_SAMPLES[schema['format']];
      let s = 'example';
      const min = typeof schema['minLength'] === 'number' ? schema['minLength'] : 0;
      while (s.length < min) s += s;
      return typeof schema['maxLength'] === 'number' ? s.slice(0, Math.max(min, schema['maxLength'])) : s;
    }
  }
}

function listOf(items: readonly string[], max: number): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} … (${items.length - max} more)`;
}

/** A value as shown in a message: JSON, long strings cut. */
export function render(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > MAX_VALUE_CHARS ? `${json.slice(0, MAX_VALUE_CHARS - 1)}…` : json;
}

function renderExample(example: JsonObject): string {
  const json = JSON.stringify(example);
  if (json.length <= 400) return json;
  // Keep the shape, not the bulk: long strings the caller sent are shortened.
  return JSON.stringify(example, (_k, v: unknown) =>
    typeof v === 'string' && v.length > MAX_VALUE_CHARS ? `${v.slice(0, MAX_VALUE_CHARS - 1)}…` : v,
  );
}
