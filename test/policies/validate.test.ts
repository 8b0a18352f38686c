import { describe, expect, it } from 'vitest';
import type { GatewayError } from '../../src/errors.js';
import { isGatewayError } from '../../src/errors.js';
import { compileToolSchema } from '../../src/policies/schema-compiler.js';
import { CORRECTIONS_META_KEY, createValidatePolicy, type ValidatePolicyOptions } from '../../src/policies/validate.js';
import { createValidateOutputPolicy } from '../../src/policies/validate-output.js';
import type { JsonObject, Policy, ToolResult } from '../../src/types.js';
import { log, makeCall, newMetrics, recordingTerminal, textResult } from './helpers.js';

const SEARCH: JsonObject = {
  type: 'object',
  properties: {
    query: { type: 'string', minLength: 1 },
    mode: { type: 'string', enum: ['fast', 'exact'], enumDescriptions: ['quick, approximate', 'slow, precise'] },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
    since: { type: 'string', format: 'date' },
    code: { type: 'string', pattern: '^[A-Z]{3}$' },
    kind: {
      oneOf: [
        { const: 'doc', description: 'Documents' },
        { const: 'img', description: 'Images' },
      ],
    },
  },
  required: ['query'],
  additionalProperties: false,
};

function policy(overrides: Partial<ValidatePolicyOptions> = {}): Policy {
  const p = createValidatePolicy({
    toolName: 'demo__search',
    upstreamName: 'demo',
    inputSchema: SEARCH,
    logger: log,
    ...overrides,
  });
  if (p === undefined) throw new Error('expected a policy');
  return p;
}

async function refusal(p: Policy, args: JsonObject): Promise<GatewayError> {
  try {
    await p(makeCall({ arguments: args }), recordingTerminal().next);
  } catch (err) {
    if (isGatewayError(err)) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('validate policy: the model-facing message', () => {
  it('names every field with what it expects, the allowed values with descriptions, and one valid example (exact shape)', async () => {
    const err = await refusal(policy(), {
      mode: 'quick',
      limit: 500,
      since: 'yesterday',
      code: 'ab',
      kind: 'dox',
      extra: 1,
    });
    expect(err.code).toBe('TG_INVALID_ARGUMENTS');
    expect(err.message).toBe(
      [
        'Invalid arguments for tool "demo__search" (7 problems):',
        '- query: missing (required, non-empty string).',
        '- extra: unknown field; allowed fields: query, mode, limit, since, code, kind.',
        '- mode: must be one of "fast" (quick, approximate), "exact" (slow, precise); got "quick".',
        '- limit: expected integer from 1 to 100; got 500.',
        '- since: expected string in format "date" (e.g. "2025-01-31"); got "yesterday".',
        '- code: expected string matching /^[A-Z]{3}$/; got "ab".',
        '- kind: must be one of "doc" (Documents), "img" (Images); got "dox".',
        'Example of a valid call: demo__search {"mode":"fast","limit":10,"since":"2025-01-31","kind":"doc","query":"example"}',
        'Fix the arguments and call the tool again.',
      ].join('\n'),
    );
    expect(err.data?.['problems']).toContainEqual({
      path: 'limit',
      message: 'expected integer from 1 to 100; got 500.',
    });
    expect(err.data?.['example']).toEqual({
      mode: 'fast',
      limit: 10,
      since: '2025-01-31',
      kind: 'doc',
      query: 'example',
    });
  });

  it('keeps what the caller got right in the example and names the type that was sent', async () => {
    const err = await refusal(policy(), { query: 'weather', limit: 'many' });
    expect(err.message).toContain('- limit: expected integer from 1 to 100; got "many" (a string).');
    expect(err.message).toContain('Example of a valid call: demo__search {"query":"weather","limit":10}');
  });

  it('reads enum descriptions from x-enumDescriptions maps', async () => {
    const p = policy({
      inputSchema: {
        type: 'object',
        properties: {
          unit: { type: 'string', enum: ['c', 'f'], 'x-enumDescriptions': { c: 'Celsius', f: 'Fahrenheit' } },
        },
      },
    });
    const err = await refusal(p, { unit: 'kelvin' });
    expect(err.message).toContain('- unit: must be one of "c" (Celsius), "f" (Fahrenheit); got "kelvin".');
  });

  it('lists ambiguous near-misses as candidates and repairs nothing', async () => {
    const p = policy({ inputSchema: { type: 'object', properties: { color: { enum: ['grey', 'gray'] } } } });
    const err = await refusal(p, { color: 'grzy' });
    expect(err.message).toContain('got "grzy". Did you mean one of "grey", "gray"?');
  });

  it('names nested fields by path', async () => {
    const p = policy({
      inputSchema: {
        type: 'object',
        properties: {
          filter: { type: 'object', properties: { tags: { type: 'array', items: { type: 'string', maxLength: 3 } } } },
        },
      },
    });
    const err = await refusal(p, { filter: { tags: ['ok', 'toolong'] } });
    expect(err.message).toContain('- filter.tags[1]: expected string of at most 3 characters; got "toolong".');
  });
});

describe('validate policy: auto-correction modes', () => {
  it('fix: repairs an enum near-miss, forwards the repaired arguments and reports the correction', async () => {
    const metrics = newMetrics();
    const p = policy({ corrections: metrics.argumentCorrections });
    const t = recordingTerminal();
    const result = await p(makeCall({ arguments: { query: 'x', mode: 'Fast', limit: '5' } }), t.next);
    expect(t.calls).toEqual([{ query: 'x', mode: 'fast', limit: 5 }]);
    expect(result._meta?.[CORRECTIONS_META_KEY]).toEqual([
      { path: 'mode', from: 'Fast', to: 'fast', rule: 'enum-normalized' },
      { path: 'limit', from: '5', to: 5, rule: 'string-to-number' },
    ]);
    const counted = await metrics.registry.getSingleMetricAsString('toolgate_argument_corrections_total');
    expect(counted).toContain('toolgate_argument_corrections_total{tool="demo__search",rule="enum-normalized"} 1');
  });

  it('fix: fills a missing optional field with its schema default on an otherwise valid call', async () => {
    const t = recordingTerminal();
    const result = await policy()(makeCall({ arguments: { query: 'x' } }), t.next);
    expect(t.calls).toEqual([{ query: 'x', limit: 10 }]);
    expect(result._meta?.[CORRECTIONS_META_KEY]).toEqual(
      [{ path: 'limit', to: 10, rule: 'schema-default' }].map((c) => ({ ...c, from: undefined })),
    );
  });

  it('passes a valid call through untouched (same call object, no _meta)', async () => {
    const call = makeCall({ arguments: { query: 'x', limit: 3 } });
    let seen: unknown;
    const result = await policy()(call, async (c) => {
      seen = c;
      return textResult('ok');
    });
    expect(seen).toBe(call);
    expect(result._meta).toBeUndefined();
  });

  it('suggest: refuses with "did you mean" and forwards nothing', async () => {
    const t = recordingTerminal();
    const p = policy({ autocorrect: 'suggest' });
    await expect(p(makeCall({ arguments: { query: 'x', mode: 'Fast' } }), t.next)).rejects.toThrow(
      '- mode: must be one of "fast" (quick, approximate), "exact" (slow, precise); got "Fast". Did you mean "fast"?',
    );
    expect(t.calls).toEqual([]);
    // suggest never fills defaults either
    await p(makeCall({ arguments: { query: 'x' } }), t.next);
    expect(t.calls).toEqual([{ query: 'x' }]);
  });

  it('off: refuses without suggestions', async () => {
    const err = await refusal(policy({ autocorrect: 'off' }), { query: 'x', mode: 'Fast' });
    expect(err.message).toContain('got "Fast".');
    expect(err.message).not.toContain('Did you mean');
  });

  it('fix: refuses when a repair still leaves the call invalid, and counts the failure', async () => {
    const metrics = newMetrics();
    const p = policy({ failures: metrics.validationFailures });
    const err = await refusal(p, { query: 'x', mode: 'Fast', limit: 1000 });
    expect(err.message).toContain('Did you mean "fast"?');
    expect(err.message).toContain('Example of a valid call: demo__search {"query":"x","mode":"fast","limit":10}');
    expect(await metrics.registry.getSingleMetricAsString('toolgate_validation_failures_total')).toContain(
      'kind="input"} 1',
    );
  });
});

describe('validate policy: schemas', () => {
  it('validates with draft-07 when $schema says so (tuple items)', async () => {
    const p = policy({
      inputSchema: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: {
          point: { type: 'array', items: [{ type: 'number' }, { type: 'number' }], additionalItems: false },
        },
      },
    });
    const ok = recordingTerminal();
    await p(makeCall({ arguments: { point: [1, 2] } }), ok.next);
    expect(ok.calls).toHaveLength(1);
    const err = await refusal(p, { point: [1, 'x'] });
    expect(err.message).toContain('point[1]: expected number');
  });

  it('never fetches a remote $ref: the schema is reported at registration and calls are refused', async () => {
    const errors: unknown[] = [];
    const logger = { ...log, error: (obj: unknown, msg: string) => errors.push([obj, msg]) } as unknown as typeof log;
    const p = policy({
      inputSchema: { type: 'object', properties: { a: { $ref: 'https://example.com/schemas/a.json' } } },
      logger,
    });
    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors[0])).toMatch(
      /"upstream":"demo","tool":"demo__search".*can't resolve reference https:\/\/example.com/,
    );
    const err = await refusal(p, { a: 1 });
    expect(err.code).toBe('TG_SCHEMA_INVALID');
    expect(err.message).toMatch(
      /^The tool "demo__search" cannot be used: its upstream "demo" declares an input schema toolgate cannot check/,
    );
  });

  it('serves an uncompilable schema unvalidated only when config says so', () => {
    const bad = { type: 'object', properties: { a: { type: 'no-such-type' } } };
    expect(
      createValidatePolicy({
        toolName: 't',
        upstreamName: 'u',
        inputSchema: bad,
        logger: log,
        invalidSchema: 'serve-unvalidated',
      }),
    ).toBeUndefined();
    expect(createValidatePolicy({ toolName: 't', upstreamName: 'u', inputSchema: bad, logger: log })).toBeTypeOf(
      'function',
    );
  });

  it('reports an unsupported dialect as uncompilable', () => {
    const c = compileToolSchema({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' });
    expect(c.ok).toBe(false);
    expect(c.ok ? '' : c.error).toMatch(/unsupported JSON Schema dialect/);
  });

  it('accepts a draft-07-only schema without $schema as draft-07, with a note', () => {
    const c = compileToolSchema({ type: 'object', properties: { p: { type: 'array', items: [{ type: 'string' }] } } });
    expect(c.ok && c.dialect).toBe('draft-07');
    expect(c.ok && c.note).toMatch(/validated as draft-07/);
  });

  it('compiles a schema once per schema text', () => {
    const s = { type: 'object', properties: { once: { type: 'string' } } };
    const a = compileToolSchema(s);
    const b = compileToolSchema(structuredClone(s));
    expect(a.ok && b.ok && a.validate === b.validate).toBe(true);
  });
});

describe('validate-output policy', () => {
  const outputSchema: JsonObject = { type: 'object', properties: { temp: { type: 'number' } }, required: ['temp'] };
  const structured = (value: unknown): ToolResult => ({
    ...textResult(JSON.stringify(value)),
    structuredContent: value,
  });

  it('check: logs, counts and passes a violating result through', async () => {
    const metrics = newMetrics();
    const p = createValidateOutputPolicy({
      toolName: 't',
      upstreamName: 'u',
      outputSchema,
      mode: 'check',
      logger: log,
      counter: metrics.validationFailures,
    });
    const bad = structured({ temp: 'hot' });
    expect(await p!(makeCall(), async () => bad)).toBe(bad);
    expect(await metrics.registry.getSingleMetricAsString('toolgate_validation_failures_total')).toContain(
      '{tool="t",kind="output"} 1',
    );
  });

  it('enforce: replaces a violating result with TG_OUTPUT_INVALID', async () => {
    const p = createValidateOutputPolicy({
      toolName: 't',
      upstreamName: 'u',
      outputSchema,
      mode: 'enforce',
      logger: log,
    });
    await expect(p!(makeCall(), async () => structured({ temp: 'hot' }))).rejects.toMatchObject({
      code: 'TG_OUTPUT_INVALID',
      message: expect.stringContaining('temp must be number'),
    });
    await expect(p!(makeCall(), async () => textResult('no structured content'))).rejects.toMatchObject({
      code: 'TG_OUTPUT_INVALID',
    });
    const good = structured({ temp: 21.5 });
    expect(await p!(makeCall(), async () => good)).toBe(good);
  });

  it('never replaces an upstream error result', async () => {
    const p = createValidateOutputPolicy({
      toolName: 't',
      upstreamName: 'u',
      outputSchema,
      mode: 'enforce',
      logger: log,
    });
    const upstreamError = textResult('the city is unknown', { isError: true });
    expect(await p!(makeCall(), async () => upstreamError)).toBe(upstreamError);
  });
});
