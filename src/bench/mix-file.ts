/**
 * `--mix file.yaml`: a weighted set of operations. Example:
 *
 * ```yaml
 * operations:
 *   - method: tools/list
 *     weight: 1
 *   - tool: read_text_file
 *     weight: 3
 *     args: { path: /srv/data/a.txt }
 *   - tool: search
 *     label: search-rotating
 *     argSets: [{ q: alpha }, { q: beta }]
 * ```
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { GatewayError } from '../errors.js';
import type { JsonObject } from '../jsonrpc/types.js';
import type { OperationSpec } from './operations.js';

/** Most operations one mix may hold: each has its own histogram, and reports stay readable. */
export const MAX_MIX_OPERATIONS = 64;

const ArgsSchema = z.record(z.string(), z.unknown());

const EntrySchema = z
  .object({
    tool: z.string().min(1).optional(),
    method: z.string().min(1).optional(),
    label: z.string().min(1).max(64).optional(),
    weight: z.number().int().positive().max(1_000_000).default(1),
    args: ArgsSchema.optional(),
    argSets: z.array(ArgsSchema).min(1).max(10_000).optional(),
    name: z.string().min(1).optional(),
    uri: z.string().min(1).optional(),
  })
  .strict()
  .refine(
    (e) =>
      e.tool !== undefined
        ? e.method === undefined || e.method === 'tools/call'
        : e.method !== undefined && (e.method !== 'tools/call' || e.name !== undefined),
    { message: 'give either `tool: NAME` or `method: METHOD` (tools/call also needs `name`)' },
  )
  .refine((e) => !(e.args !== undefined && e.argSets !== undefined), { message: 'give `args` or `argSets`, not both' })
  .refine((e) => e.method !== 'resources/read' || e.uri !== undefined, { message: 'resources/read needs `uri`' })
  .refine((e) => e.method !== 'prompts/get' || e.name !== undefined, { message: 'prompts/get needs `name`' });

const MixSchema = z.union([
  z.object({ operations: z.array(EntrySchema).min(1).max(MAX_MIX_OPERATIONS) }).strict(),
  z.array(EntrySchema).min(1).max(MAX_MIX_OPERATIONS),
]);

/** Turns validated mix entries into operation specs with unique labels. */
function toSpecs(entries: Array<z.infer<typeof EntrySchema>>): OperationSpec[] {
  const seen = new Map<string, number>();
  return entries.map((e) => {
    const toolName = e.tool ?? e.name;
    const method = e.tool !== undefined ? 'tools/call' : (e.method ?? 'tools/call');
    const base = e.label ?? (method === 'tools/call' && toolName !== undefined ? toolName : method);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const spec: OperationSpec = {
      label: n === 1 ? base : `${base}#${n}`,
      method,
      weight: e.weight,
      argSets: (e.argSets ?? (e.args === undefined ? [] : [e.args])) as JsonObject[],
    };
    if (toolName !== undefined) spec.name = toolName;
    if (e.uri !== undefined) spec.uri = e.uri;
    return spec;
  });
}

/** Parses mix-file text (YAML or JSON). Throws `TG_CLI_USAGE` listing each problem with its path. */
export function parseMix(text: string, file: string): OperationSpec[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new GatewayError('TG_CLI_USAGE', `--mix ${file}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = MixSchema.safeParse(doc);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new GatewayError('TG_CLI_USAGE', `--mix ${file} is not a valid mix:\n${problems.join('\n')}`);
  }
  const entries = Array.isArray(parsed.data) ? parsed.data : parsed.data.operations;
  return toSpecs(entries);
}

/** Reads and parses a mix file. */
export async function loadMixFile(file: string): Promise<OperationSpec[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GatewayError(
      'TG_CLI_USAGE',
      `--mix ${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseMix(text, file);
}
