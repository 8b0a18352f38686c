import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import draft06MetaSchema from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };
import formatsModule from 'ajv-formats';
import type { JsonObject } from '../types.js';

export type { ErrorObject, ValidateFunction } from 'ajv';

// ajv-formats is CommonJS; under NodeNext its default import is the module object or the plugin itself.
type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats = ((formatsModule as unknown as { default?: FormatsPlugin }).default ??
  formatsModule) as unknown as FormatsPlugin;

/** The JSON Schema dialects toolgate validates with. */
export type SchemaDialect = '2020-12' | '2019-09' | 'draft-07';

/** A compiled tool schema, or why it cannot be compiled. */
export type CompiledSchema =
  | {
      readonly ok: true;
      readonly validate: ValidateFunction;
      readonly dialect: SchemaDialect;
      readonly root: JsonObject;
      readonly note?: string;
    }
  | { readonly ok: false; readonly error: string };

const DIALECTS: ReadonlyMap<string, SchemaDialect> = new Map([
  ['json-schema.org/draft/2020-12/schema', '2020-12'],
  ['json-schema.org/draft/2019-09/schema', '2019-09'],
  ['json-schema.org/draft-07/schema', 'draft-07'],
  ['json-schema.org/draft-06/schema', 'draft-07'], // draft-06 is a subset Ajv's draft-07 class validates once its meta-schema is added
]);

const instances = new Map<SchemaDialect, Ajv>();

/**
 * One Ajv per dialect, shared by every tool. `allErrors` so the model hears about every field at once; `verbose`
 * so errors carry the sub-schema (for "expected …" and enum descriptions); no coercion or defaults (auto-correction
 * does that, and reports it). No `loadSchema`: a `$ref` that is not inside the schema fails compilation instead of
 * being fetched. `addUsedSchema: false` keeps upstream `$id`s from colliding across tools.
 */
function ajvFor(dialect: SchemaDialect): Ajv {
  let ajv = instances.get(dialect);
  if (ajv === undefined) {
    const options = {
      strict: false,
      allErrors: true,
      verbose: true,
      addUsedSchema: false,
      allowUnionTypes: true,
      logger: false as const,
    };
    ajv =
      dialect === '2020-12' ? new Ajv2020(options) : dialect === '2019-09' ? new Ajv2019(options) : new Ajv(options);
    if (dialect === 'draft-07') ajv.addMetaSchema(draft06MetaSchema);
    addFormats(ajv);
    instances.set(dialect, ajv);
  }
  return ajv;
}

function compileWith(dialect: SchemaDialect, schema: JsonObject): ValidateFunction {
  const ajv = ajvFor(dialect);
  try {
    return ajv.compile(schema);
  } finally {
    // Ajv caches by schema object; tools come and go with list refreshes, so forget it (the function stays valid).
    ajv.removeSchema(schema);
  }
}

const MAX_CACHED = 500;
const cache = new Map<string, CompiledSchema>();

/**
 * Compiles a tool's input or output schema once per schema text: 2020-12 when `$schema` is absent (the MCP default),
 * the declared dialect otherwise. A schema without `$schema` that only compiles as draft-07 (tuple `items`, …) is
 * accepted as draft-07 with a note, since many servers emit draft-07 without saying so. An unsupported dialect or a
 * remote `$ref` makes the schema uncompilable.
 */
export function compileToolSchema(schema: JsonObject): CompiledSchema {
  const key = JSON.stringify(schema);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const compiled = compileUncached(schema);
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(key, compiled);
  return compiled;
}

function compileUncached(schema: JsonObject): CompiledSchema {
  const declared = schema['$schema'];
  if (declared !== undefined) {
    const dialect =
      typeof declared === 'string' ? DIALECTS.get(declared.replace(/^https?:\/\//, '').replace(/#$/, '')) : undefined;
    if (dialect === undefined) {
      return {
        ok: false,
        error: `unsupported JSON Schema dialect ${JSON.stringify(declared)} (supported: 2020-12, 2019-09, draft-07, draft-06)`,
      };
    }
    try {
      return { ok: true, validate: compileWith(dialect, schema), dialect, root: schema };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }
  try {
    return { ok: true, validate: compileWith('2020-12', schema), dialect: '2020-12', root: schema };
  } catch (err) {
    try {
      const validate = compileWith('draft-07', schema);
      return {
        ok: true,
        validate,
        dialect: 'draft-07',
        root: schema,
        note: `not valid 2020-12 (${(err as Error).message}); validated as draft-07`,
      };
    } catch {
      return { ok: false, error: (err as Error).message };
    }
  }
}

/** JSON Pointer (`/a/0/b~1c`) → segments. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Segments → the path shown to the model: `filters.tags[2]`, `["odd key"]`; the root is `(arguments)`. */
export function displayPath(segments: readonly string[]): string {
  if (segments.length === 0) return '(arguments)';
  let out = '';
  for (const s of segments) {
    if (/^(0|[1-9]\d*)$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Resolves a local `$ref` (`#/$defs/X`, `#/definitions/X`, `#`) against the root; other refs resolve to undefined. */
export function resolveLocalRef(schema: unknown, root: JsonObject, depth = 0): JsonObject | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
  const ref = (schema as JsonObject)['$ref'];
  if (typeof ref !== 'string' || depth > 8) return schema as JsonObject;
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const seg of pointerSegments(decodeURIComponent(ref.slice(1)))) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return resolveLocalRef(node, root, depth + 1);
}

/** Ajv's errors of the last run of `validate`, as a stable array. */
export function lastErrors(validate: ValidateFunction): readonly ErrorObject[] {
  return validate.errors ?? [];
}
