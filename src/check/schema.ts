import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import type { JsonObject } from '../jsonrpc/types.js';
import { brief, succeeded, type CheckContext } from './context.js';
import { properties, requiredOf, schemaType, validObject, wrongTypeValue, type InputBait } from './inputs.js';
import { isPlainObject } from './target.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object or the plugin itself.
type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats = ((formatsModule as unknown as { default?: FormatsPlugin }).default ??
  formatsModule) as unknown as FormatsPlugin;

/** A compiled schema, or why it does not compile. */
export interface CompiledSchema {
  dialect: string;
  validate?: ValidateFunction;
  error?: string;
  errors: () => string;
}

const DRAFT07 = /json-schema\.org\/draft-07\/schema/;
const DRAFT2019 = /json-schema\.org\/draft\/2019-09\/schema/;
const DRAFT2020 = /json-schema\.org\/draft\/2020-12\/schema/;

function makeAjv(dialect: 'draft-07' | '2019-09' | '2020-12'): Ajv {
  // strict off: unknown keywords are legal JSON Schema; structural errors still fail compilation.
  const opts = { strict: false, allErrors: false, validateFormats: true, loadSchema: undefined };
  const ajv = dialect === '2020-12' ? new Ajv2020(opts) : dialect === '2019-09' ? new Ajv2019(opts) : new Ajv(opts);
  addFormats(ajv as Ajv);
  return ajv as Ajv;
}

/**
 * Compiles a schema under the dialect its `$schema` declares (2020-12 when absent, the MCP default). Remote `$ref`s are
 * never fetched: they fail compilation, which is reported.
 */
export function compileSchema(schema: JsonObject): CompiledSchema {
  const declared = typeof schema['$schema'] === 'string' ? schema['$schema'] : undefined;
  let dialect: 'draft-07' | '2019-09' | '2020-12' = '2020-12';
  if (declared !== undefined) {
    if (DRAFT07.test(declared)) dialect = 'draft-07';
    else if (DRAFT2019.test(declared)) dialect = '2019-09';
    else if (!DRAFT2020.test(declared)) {
      return { dialect: declared, error: `unsupported dialect ${declared}`, errors: () => '' };
    }
  }
  const ajv = makeAjv(dialect);
  try {
    const validate = ajv.compile({ ...schema, $id: undefined });
    return {
      dialect,
      validate,
      errors: () => (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; '),
    };
  } catch (err) {
    return { dialect, error: err instanceof Error ? err.message : String(err), errors: () => '' };
  }
}

/** Object schemas inside a schema (the root and nested property objects), with their JSON pointer. */
function objectSchemas(schema: JsonObject, path = '', depth = 0): [string, JsonObject][] {
  if (depth > 6) return [];
  const out: [string, JsonObject][] = [];
  if (schemaType(schema) === 'object') out.push([path || '/', schema]);
  for (const [k, p] of properties(schema)) {
    out.push(...objectSchemas(p, `${path}/${k}`, depth + 1));
    if (schemaType(p) === 'array' && isPlainObject(p['items']))
      out.push(...objectSchemas(p['items'], `${path}/${k}[]`, depth + 1));
  }
  return out;
}

/** Static schema checks F1–F5. */
export async function runSchemaChecks(ctx: CheckContext): Promise<void> {
  const noTools = ctx.tools.length === 0 ? 'the server lists no tools' : undefined;

  await ctx.check(
    'TG-CHK-F1',
    () => {
      for (const tool of ctx.tools) {
        const s = tool['inputSchema'];
        if (!isPlainObject(s))
          ctx.fail('TG-CHK-F1', { subject: tool.name, evidence: `"${tool.name}" inputSchema is ${brief(s)}` });
        else if (s['type'] !== 'object')
          ctx.fail('TG-CHK-F1', {
            subject: tool.name,
            evidence: `"${tool.name}" inputSchema has type ${brief(s['type'])}, not "object"`,
          });
      }
    },
    noTools,
  );

  await ctx.check(
    'TG-CHK-F2',
    () => {
      for (const tool of ctx.tools) {
        const s = tool['inputSchema'];
        if (!isPlainObject(s)) continue;
        const open = objectSchemas(s).filter(
          ([, o]) => o['additionalProperties'] !== false && o['unevaluatedProperties'] !== false,
        );
        if (open.length > 0) {
          ctx.fail('TG-CHK-F2', {
            subject: tool.name,
            evidence: `"${tool.name}": object schema(s) ${open.map(([p]) => p).join(', ')} accept unknown properties`,
          });
        }
      }
    },
    noTools,
  );

  await ctx.check(
    'TG-CHK-F3',
    () => {
      for (const tool of ctx.tools) {
        const s = tool['inputSchema'];
        const props = properties(s);
        if (props.length === 0 || requiredOf(s).length > 0) continue;
        const undefaulted = props.filter(([, p]) => !('default' in p)).map(([k]) => k);
        if (undefaulted.length > 0) {
          ctx.fail('TG-CHK-F3', {
            subject: tool.name,
            evidence: `"${tool.name}" declares no \`required\`, and ${undefaulted.join(', ')} have no default`,
          });
        }
      }
    },
    noTools,
  );

  await ctx.check(
    'TG-CHK-F4',
    () => {
      for (const tool of ctx.tools) {
        const free = properties(tool['inputSchema'])
          .filter(([, p]) => schemaType(p) === 'string')
          .filter(([, p]) => !['enum', 'const', 'pattern', 'format', 'maxLength'].some((k) => k in p))
          .map(([k]) => k);
        if (free.length > 0)
          ctx.fail('TG-CHK-F4', {
            subject: tool.name,
            evidence: `"${tool.name}": unconstrained string parameter(s) ${free.join(', ')}`,
          });
      }
    },
    noTools,
  );

  await ctx.check(
    'TG-CHK-F5',
    () => {
      for (const tool of ctx.tools) {
        for (const key of ['inputSchema', 'outputSchema'] as const) {
          const s = tool[key];
          if (!isPlainObject(s)) continue;
          const c = compileSchema(s);
          if (c.error !== undefined)
            ctx.fail('TG-CHK-F5', {
              subject: `${tool.name} ${key}`,
              evidence: `"${tool.name}" ${key} does not compile (${c.dialect}): ${c.error}`,
            });
        }
      }
    },
    noTools,
  );
}

/** F6: calls each callable tool with schema violations; any success is a finding. */
export async function runSchemaEnforcementCheck(ctx: CheckContext, bait: InputBait): Promise<void> {
  const tools = ctx.callableTools().filter((t) => isPlainObject(t['inputSchema']));
  await ctx.check(
    'TG-CHK-F6',
    async () => {
      let probed = 0;
      for (const tool of tools) {
        const schema = tool['inputSchema'] as JsonObject;
        const base = validObject(schema, schema, bait);
        for (const [label, args] of violations(schema, base)) {
          const r = await ctx.callTool(tool.name, args, 'enforce', label);
          probed++;
          if (succeeded(r)) {
            ctx.fail('TG-CHK-F6', {
              subject: `${tool.name}: ${label}`,
              evidence: `"${tool.name}" accepted ${label} ${brief(args, 120)} and returned success: ${brief(r.result, 160)}`,
            });
          }
        }
      }
      if (probed === 0) ctx.skipCheck('TG-CHK-F6', 'no callable tool has a constraint to violate');
    },
    tools.length === 0 ? 'no tool is safe to call (see --allow-destructive, --call-unannotated)' : undefined,
  );
}

function violations(schema: JsonObject, base: JsonObject): [string, JsonObject][] {
  const out: [string, JsonObject][] = [];
  const required = requiredOf(schema);
  const first = required[0];
  if (first !== undefined) {
    const missing = { ...base };
    delete missing[first];
    out.push([`missing required "${first}"`, missing]);
  }
  const typed = properties(schema).find(([, p]) => wrongTypeValue(p) !== undefined && p['enum'] === undefined);
  if (typed !== undefined) {
    const [k, p] = typed;
    out.push([`wrong type for "${k}" (${schemaType(p)})`, { ...base, [k]: wrongTypeValue(p) }]);
  }
  if (schema['additionalProperties'] === false)
    out.push(['unknown property "toolgate_unexpected"', { ...base, toolgate_unexpected: 1 }]);
  return out;
}
