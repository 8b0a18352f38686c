import type { JsonObject } from '../jsonrpc/types.js';
import { isPlainObject } from './target.js';

/** Where URL-like and other bait values come from. */
export interface InputBait {
  validUrl: string;
  ssrfUrls: string[];
}

const MAX_DEPTH = 8;

/** Resolves a local `$ref` (`#/$defs/x`, `#/definitions/x`); other refs resolve to `{}` (never fetched). */
function deref(schema: JsonObject, root: JsonObject): JsonObject {
  let s = schema;
  for (let i = 0; i < 8 && typeof s['$ref'] === 'string'; i++) {
    const ref = s['$ref'];
    if (!ref.startsWith('#/')) return {};
    let node: unknown = root;
    for (const part of ref.slice(2).split('/')) {
      node = isPlainObject(node) ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    }
    s = isPlainObject(node) ? node : {};
  }
  return s;
}

/** The declared type of a schema (first of a type array; inferred from properties/items). */
export function schemaType(schema: JsonObject): string | undefined {
  const t = schema['type'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') as string | undefined) ?? 'null';
  if (isPlainObject(schema['properties'])) return 'object';
  if (schema['items'] !== undefined) return 'array';
  return undefined;
}

/** The properties of an object schema. */
export function properties(schema: unknown): [string, JsonObject][] {
  if (!isPlainObject(schema) || !isPlainObject(schema['properties'])) return [];
  return Object.entries(schema['properties']).map(([k, v]) => [k, isPlainObject(v) ? v : {}]);
}

/** The `required` names of an object schema. */
export function requiredOf(schema: unknown): string[] {
  if (!isPlainObject(schema) || !Array.isArray(schema['required'])) return [];
  return schema['required'].filter((x): x is string => typeof x === 'string');
}

/** True when a property name or description says it holds a URL. */
export function isUrlLike(name: string, schema: JsonObject): boolean {
  const desc = typeof schema['description'] === 'string' ? schema['description'] : '';
  return (
    /(^|_|-|[a-z])(url|uri|endpoint|href|link|webhook|callback)s?$/i.test(name) ||
    schema['format'] === 'uri' ||
    schema['format'] === 'url' ||
    /\b(url|uri)\b/i.test(desc)
  );
}

/** True when a property holds a filesystem path. */
export function isPathLike(name: string): boolean {
  return /(^|_|-|[a-z])(path|paths|file|filename|filepath|dir|directory|folder|source|destination|dest)$/i.test(name);
}

/** True when a property looks like it reaches a shell. */
export function isCommandLike(name: string): boolean {
  return /(^|_|-|[a-z])(cmd|command|exec|script|shell|host|hostname|args|argv|program)$/i.test(name);
}

/** True when a property looks like it reaches a database query. */
export function isQueryLike(name: string): boolean {
  return /(^|_|-|[a-z])(sql|query|where|filter|search|table|column|order|sort|id|username|name)$/i.test(name);
}

function clampNumber(schema: JsonObject, preferred: number, integer: boolean): number {
  let v = preferred;
  const min = typeof schema['minimum'] === 'number' ? schema['minimum'] : undefined;
  const max = typeof schema['maximum'] === 'number' ? schema['maximum'] : undefined;
  const exMin = typeof schema['exclusiveMinimum'] === 'number' ? schema['exclusiveMinimum'] : undefined;
  const exMax = typeof schema['exclusiveMaximum'] === 'number' ? schema['exclusiveMaximum'] : undefined;
  if (min !== undefined && v < min) v = min;
  if (exMin !== undefined && v <= exMin) v = exMin + (integer ? 1 : 0.5);
  if (max !== undefined && v > max) v = max;
  if (exMax !== undefined && v >= exMax) v = exMax - (integer ? 1 : 0.5);
  return integer ? Math.ceil(v) : v;
}

/**
 * A small valid value for a schema. Prefers enum/const/examples, then cheap values (a number 1 rather than a default
 * of 10 seconds), URLs pointing at the checker's loopback listener, and only required object properties.
 */
export function validValue(schema: JsonObject, root: JsonObject, bait: InputBait, name = '', depth = 0): unknown {
  const s = deref(schema, root);
  if (depth > MAX_DEPTH) return null;
  if ('const' in s) return s['const'];
  if (Array.isArray(s['enum']) && s['enum'].length > 0) return s['enum'][0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const alts = s[key];
    if (Array.isArray(alts)) {
      const first = alts.find((a) => isPlainObject(a) && a['type'] !== 'null');
      if (isPlainObject(first)) return validValue({ ...s, [key]: undefined, ...first }, root, bait, name, depth + 1);
    }
  }
  if (Array.isArray(s['allOf'])) {
    const merged: JsonObject = { ...s, allOf: undefined };
    for (const a of s['allOf']) if (isPlainObject(a)) Object.assign(merged, deref(a, root));
    return validValue(merged, root, bait, name, depth + 1);
  }
  if (Array.isArray(s['examples']) && s['examples'].length > 0 && !isUrlLike(name, s)) return s['examples'][0];
  switch (schemaType(s)) {
    case 'string':
      return validString(s, name, bait);
    case 'integer':
      return clampNumber(s, 1, true);
    case 'number':
      return clampNumber(s, 1, false);
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const min = typeof s['minItems'] === 'number' ? s['minItems'] : 0;
      const items = isPlainObject(s['items']) ? s['items'] : {};
      return Array.from({ length: Math.min(min, 3) }, () => validValue(items, root, bait, name, depth + 1));
    }
    case 'object':
      return validObject(s, root, bait, depth + 1);
    default:
      return typeof s['default'] === 'string' || typeof s['default'] === 'number' ? s['default'] : 'toolgate';
  }
}

function validString(s: JsonObject, name: string, bait: InputBait): string {
  if (isUrlLike(name, s)) return bait.validUrl;
  const format = s['format'];
  let v = 'toolgate';
  if (format === 'date-time') v = '2026-01-01T00:00:00Z';
  else if (format === 'date') v = '2026-01-01';
  else if (format === 'email') v = 'check@example.com';
  else if (format === 'uuid') v = '00000000-0000-4000-8000-000000000000';
  else if (format === 'ipv4') v = '127.0.0.1';
  else if (typeof s['default'] === 'string' && !/^[a-z]+:\/\//i.test(s['default'])) v = s['default'];
  else if (isPathLike(name)) v = 'toolgate-check.txt';
  const minLength = typeof s['minLength'] === 'number' ? s['minLength'] : 0;
  const maxLength = typeof s['maxLength'] === 'number' ? s['maxLength'] : Infinity;
  if (v.length < minLength) v = v.padEnd(minLength, 'x');
  if (v.length > maxLength) v = v.slice(0, Math.max(maxLength, 0));
  return v;
}

/** A valid object for an object schema: required properties only (cheapest valid call). */
export function validObject(schema: JsonObject, root: JsonObject, bait: InputBait, depth = 0): JsonObject {
  const out: JsonObject = {};
  const props = new Map(properties(schema));
  for (const key of requiredOf(schema)) {
    out[key] = validValue(props.get(key) ?? {}, root, bait, key, depth);
  }
  // Optional numbers with a default get a small value too: defaults like "duration: 10 s" make calls slow.
  for (const [key, p] of props) {
    if (key in out || !('default' in p) || typeof p['default'] !== 'number') continue;
    const t = schemaType(p);
    if (t === 'number' || t === 'integer') out[key] = clampNumber(p, 1, t === 'integer');
  }
  return out;
}

/** A value of the wrong JSON type for a schema (for the schema-enforcement probe). */
export function wrongTypeValue(schema: JsonObject): unknown {
  switch (schemaType(schema)) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
      return 'not-a-number';
    case 'boolean':
      return 'yes';
    case 'array':
      return 'not-an-array';
    case 'object':
      return 'not-an-object';
    default:
      return undefined;
  }
}

/** A labelled argument set for one probe call. */
export interface Probe {
  label: string;
  args: JsonObject;
  /** For attack probes: what proves the payload worked. */
  kind?: 'path' | 'command' | 'sql' | 'ssrf';
}

function nested(depth: number): unknown {
  let v: unknown = 'deep';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

/** Boundary and malformed values, one parameter at a time (bounded count). */
export function boundaryProbes(schema: JsonObject, base: JsonObject, max: number): Probe[] {
  const probes: Probe[] = [];
  const props = properties(schema);
  const stringProps = props.filter(([, p]) => schemaType(p) === 'string' && p['enum'] === undefined);
  const numberProps = props.filter(([, p]) => ['number', 'integer'].includes(schemaType(p) ?? ''));
  for (const [k] of stringProps.slice(0, 2)) {
    probes.push({ label: `${k}: 256 KiB string`, args: { ...base, [k]: 'A'.repeat(256 * 1024) } });
    probes.push({ label: `${k}: NUL byte`, args: { ...base, [k]: 'tool\u0000gate' } });
    probes.push({
      label: `${k}: unicode (RTL, emoji, combining)`,
      args: { ...base, [k]: '\u202Eevil\u202C 🚀 e\u0301 \uFFFF 𝕏' },
    });
    probes.push({ label: `${k}: empty string`, args: { ...base, [k]: '' } });
  }
  for (const [k] of numberProps.slice(0, 2)) {
    probes.push({ label: `${k}: 1e308`, args: { ...base, [k]: 1e308 } });
    probes.push({ label: `${k}: -1e308`, args: { ...base, [k]: -1e308 } });
    probes.push({ label: `${k}: 2^53+2`, args: { ...base, [k]: 2 ** 53 + 2 } });
  }
  probes.push({ label: 'deeply nested object (200 levels)', args: { ...base, toolgate_nested: nested(200) } });
  if (props.length === 0)
    probes.push({ label: 'unexpected arguments on a no-argument tool', args: { toolgate: 'x'.repeat(1024) } });
  return probes.slice(0, max);
}

/** Attack payloads for parameters whose names suggest paths, shells, queries or URLs (bounded count). */
export function attackProbes(schema: JsonObject, base: JsonObject, bait: InputBait, max: number): Probe[] {
  const probes: Probe[] = [];
  for (const [k, p] of properties(schema)) {
    if (schemaType(p) !== 'string' || p['enum'] !== undefined) continue;
    if (isUrlLike(k, p)) {
      for (const u of bait.ssrfUrls) probes.push({ label: `${k}: SSRF ${u}`, args: { ...base, [k]: u }, kind: 'ssrf' });
    }
    if (isPathLike(k)) {
      for (const v of [
        '../../../../../../../../etc/passwd',
        '/etc/passwd',
        '..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      ]) {
        probes.push({ label: `${k}: path traversal ${v}`, args: { ...base, [k]: v }, kind: 'path' });
      }
    }
    if (isCommandLike(k)) {
      for (const v of ['toolgate; id', '$(id)', '`id`', 'toolgate | id']) {
        probes.push({ label: `${k}: command injection ${v}`, args: { ...base, [k]: v }, kind: 'command' });
      }
    }
    if (isQueryLike(k)) {
      // Read-only probes only: they reveal string-built queries without changing data.
      for (const v of ["' OR '1'='1", "toolgate' UNION SELECT NULL--", '"']) {
        probes.push({ label: `${k}: SQL injection ${v}`, args: { ...base, [k]: v }, kind: 'sql' });
      }
    }
  }
  return probes.slice(0, max);
}
