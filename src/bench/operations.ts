/**
 * Operations bench sends: a JSON-RPC method with prepared params, a label for the report, a weight in the mix,
 * and a shape check for its result. Params are built once per run (per era) so the hot path only serialises.
 */
import { isObject, type JsonObject } from '../jsonrpc/types.js';
import type { Era } from './era.js';

/** Methods bench knows the result shape of; any other method is sent as given and only checked to be an object. */
export const KNOWN_METHODS = [
  'ping',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/read',
  'prompts/list',
  'prompts/get',
  'server/discover',
] as const;

/** One operation as the user described it (from flags or a mix file). */
export interface OperationSpec {
  /** Label in reports: the tool name for `tools/call`, else the method. Unique within a run. */
  label: string;
  method: string;
  /** Relative share of requests; a positive integer. */
  weight: number;
  /** For `tools/call` and `prompts/get`. */
  name?: string;
  /** For `resources/read`. */
  uri?: string;
  /** Argument sets, used in turn; one empty set when the call takes none. */
  argSets: JsonObject[];
}

/** An operation ready to send: params per argument set, already carrying the era's envelope. */
export interface PreparedOperation {
  readonly label: string;
  readonly method: string;
  /** Value of the `Mcp-Name` header (modern HTTP), when the method has one. */
  readonly headerName: string | undefined;
  /** Returns the params of the next request (argument sets rotate). */
  nextParams(): JsonObject | undefined;
  /** Returns why a result does not have this method's shape, or undefined when it does. */
  checkShape(result: JsonObject): string | undefined;
}

/** Builds the params of every argument set once, with the modern `_meta` envelope when `meta` is given. */
export function prepareOperation(spec: OperationSpec, era: Era, meta: JsonObject | undefined): PreparedOperation {
  const withMeta = (p: JsonObject): JsonObject | undefined => {
    if (era === 'modern' && meta !== undefined) return { ...p, _meta: meta };
    return Object.keys(p).length === 0 ? undefined : p;
  };
  const base: JsonObject = {};
  if (spec.method === 'resources/read' && spec.uri !== undefined) base['uri'] = spec.uri;
  const sets = spec.argSets.length === 0 ? [{}] : spec.argSets;
  const params = sets.map((args) => {
    if (spec.method === 'tools/call') return withMeta({ ...base, name: spec.name, arguments: args });
    if (spec.method === 'prompts/get') return withMeta({ ...base, name: spec.name, arguments: args });
    return withMeta({ ...base, ...args });
  });
  let turn = 0;
  const check = shapeCheckOf(spec.method);
  const headerName =
    spec.method === 'tools/call' || spec.method === 'prompts/get'
      ? spec.name
      : spec.method === 'resources/read'
        ? spec.uri
        : undefined;
  return {
    label: spec.label,
    method: spec.method,
    headerName,
    nextParams: params.length === 1 ? () => params[0] : () => params[turn++ % params.length],
    checkShape: check,
  };
}

/**
 * Smooth weighted round-robin: deterministic, and over any whole cycle each operation gets exactly its share
 * (weights 3:1 over 1000 requests → 750/250), spread evenly instead of in runs. Exact shares make error
 * accounting testable and runs comparable; a random mix would add sampling noise to every comparison.
 */
export function createPicker<T>(items: readonly T[], weights: readonly number[]): () => T {
  if (items.length === 0 || items.length !== weights.length) throw new RangeError('picker needs one weight per item');
  if (items.length === 1) {
    const only = items[0]!;
    return () => only;
  }
  const total = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  return () => {
    let best = 0;
    for (let i = 0; i < items.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    return items[best]!;
  };
}

function arrayOfObjects(value: unknown, key: string, field: string): string | undefined {
  if (!Array.isArray(value)) return `result.${field} is not an array`;
  for (const item of value) {
    if (!isObject(item) || typeof item[key] !== 'string') return `an item of result.${field} lacks a string "${key}"`;
  }
  return undefined;
}

/** The result-shape check of a method (the fields the MCP schema requires; extra fields are allowed). */
export function shapeCheckOf(method: string): (result: JsonObject) => string | undefined {
  switch (method) {
    case 'tools/call':
      return (r) => {
        if (r['resultType'] !== undefined && r['resultType'] !== 'complete') {
          return `resultType "${String(r['resultType'])}" (bench expects complete results)`;
        }
        if (r['isError'] !== undefined && typeof r['isError'] !== 'boolean') return 'result.isError is not a boolean';
        return arrayOfObjects(r['content'], 'type', 'content');
      };
    case 'tools/list':
      return (r) => arrayOfObjects(r['tools'], 'name', 'tools');
    case 'resources/list':
      return (r) => arrayOfObjects(r['resources'], 'uri', 'resources');
    case 'resources/read':
      return (r) => arrayOfObjects(r['contents'], 'uri', 'contents');
    case 'prompts/list':
      return (r) => arrayOfObjects(r['prompts'], 'name', 'prompts');
    case 'prompts/get':
      return (r) => (Array.isArray(r['messages']) ? undefined : 'result.messages is not an array');
    case 'server/discover':
      return (r) => (Array.isArray(r['supportedVersions']) ? undefined : 'result.supportedVersions is not an array');
    default:
      return () => undefined;
  }
}
