import { describe, expect, it } from 'vitest';
import { correctArguments, editDistance, planDefaults, type Correction } from '../../src/policies/autocorrect.js';
import { compileToolSchema } from '../../src/policies/schema-compiler.js';
import type { JsonObject } from '../../src/types.js';

const schema: JsonObject = {
  type: 'object',
  properties: {
    mode: { type: 'string', enum: ['fast_search', 'exact', 'Deep Scan'] },
    color: { type: 'string', enum: ['red', 'green', 'grey', 'gray'] },
    unit: { type: 'string', enum: ['Kb', 'kb', 'MB'] },
    kind: {
      oneOf: [
        { const: 'document', description: 'Documents' },
        { const: 'image', description: 'Images' },
      ],
    },
    level: { type: 'integer', enum: [1, 2, 3] },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
    ratio: { type: 'number' },
    maybe: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
    verbose: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string', enum: ['alpha', 'beta'] } },
    ids: { type: 'array', items: { type: 'integer' } },
    name: { type: 'string' },
    page: { type: 'integer', default: 1 },
    options: { type: 'object', properties: { depth: { type: 'integer', default: 2 }, strict: { type: 'boolean' } } },
    query: { type: 'string' },
  },
  required: ['query'],
  additionalProperties: false,
};

const compiled = compileToolSchema(schema);
if (!compiled.ok) throw new Error(compiled.error);
const { validate } = compiled;
const defaults = planDefaults(schema, schema);

type Case = {
  name: string;
  args: JsonObject;
  fixed?: Correction[];
  candidates?: [string, unknown[]];
  untouched?: true;
};

/** What auto-correction does with each kind of mistake. `fixed` cases validate after the repair. */
const CASES: Case[] = [
  // Fixed: unambiguous
  {
    name: 'enum: case',
    args: { mode: 'EXACT' },
    fixed: [{ path: 'mode', from: 'EXACT', to: 'exact', rule: 'enum-normalized' }],
  },
  {
    name: 'enum: surrounding whitespace',
    args: { mode: ' exact ' },
    fixed: [{ path: 'mode', from: ' exact ', to: 'exact', rule: 'enum-normalized' }],
  },
  {
    name: 'enum: dash for underscore',
    args: { mode: 'fast-search' },
    fixed: [{ path: 'mode', from: 'fast-search', to: 'fast_search', rule: 'enum-normalized' }],
  },
  {
    name: 'enum: space for underscore',
    args: { mode: 'Fast Search' },
    fixed: [{ path: 'mode', from: 'Fast Search', to: 'fast_search', rule: 'enum-normalized' }],
  },
  {
    name: 'enum: underscore for space',
    args: { mode: 'deep_scan' },
    fixed: [{ path: 'mode', from: 'deep_scan', to: 'Deep Scan', rule: 'enum-normalized' }],
  },
  {
    name: 'enum: one typo',
    args: { mode: 'exsct' },
    fixed: [{ path: 'mode', from: 'exsct', to: 'exact', rule: 'enum-nearest' }],
  },
  {
    name: 'enum: transposition',
    args: { mode: 'exatc' },
    fixed: [{ path: 'mode', from: 'exatc', to: 'exact', rule: 'enum-nearest' }],
  },
  {
    name: 'enum: two typos in a long value',
    args: { mode: 'fsat_serch' },
    fixed: [{ path: 'mode', from: 'fsat_serch', to: 'fast_search', rule: 'enum-nearest' }],
  },
  {
    name: 'oneOf consts: case',
    args: { kind: 'Image' },
    fixed: [{ path: 'kind', from: 'Image', to: 'image', rule: 'enum-normalized' }],
  },
  {
    name: 'numeric enum sent as a string',
    args: { level: '2' },
    fixed: [{ path: 'level', from: '2', to: 2, rule: 'string-to-number' }],
  },
  {
    name: 'integer sent as a string',
    args: { limit: '50' },
    fixed: [{ path: 'limit', from: '50', to: 50, rule: 'string-to-number' }],
  },
  {
    name: 'number sent as a string',
    args: { ratio: ' 0.25 ' },
    fixed: [{ path: 'ratio', from: ' 0.25 ', to: 0.25, rule: 'string-to-number' }],
  },
  {
    name: 'nullable integer sent as a string',
    args: { maybe: '7' },
    fixed: [{ path: 'maybe', from: '7', to: 7, rule: 'string-to-number' }],
  },
  {
    name: 'boolean sent as a string',
    args: { verbose: 'True' },
    fixed: [{ path: 'verbose', from: 'True', to: true, rule: 'string-to-boolean' }],
  },
  {
    name: 'single value where an array is expected',
    args: { ids: 5 },
    fixed: [{ path: 'ids', from: 5, to: [5], rule: 'wrap-in-array' }],
  },
  {
    name: 'single value wrapped, then its enum repaired',
    args: { tags: 'Alpha' },
    fixed: [
      { path: 'tags', from: 'Alpha', to: ['Alpha'], rule: 'wrap-in-array' },
      { path: 'tags[0]', from: 'Alpha', to: 'alpha', rule: 'enum-normalized' },
    ],
  },
  {
    name: 'missing optional fields get schema defaults once the call is repaired',
    args: { limit: '5', page: undefined, options: {} },
    fixed: [
      { path: 'limit', from: '5', to: 5, rule: 'string-to-number' },
      { path: 'page', from: undefined, to: 1, rule: 'schema-default' },
      { path: 'options.depth', from: undefined, to: 2, rule: 'schema-default' },
    ],
  },
  // Only suggested: ambiguous
  {
    name: 'enum: two candidates at the same distance',
    args: { color: 'grzy' },
    candidates: ['color', ['grey', 'gray']],
  },
  { name: 'enum: case-insensitive tie', args: { unit: 'KB' }, candidates: ['unit', ['Kb', 'kb']] },
  // Never touched
  { name: 'enum: short value far from every candidate', args: { mode: 'xyz' }, untouched: true },
  { name: 'enum: too many edits', args: { mode: 'exactly_not' }, untouched: true },
  { name: 'a short enum value is never guessed by distance', args: { kind: 'img' }, untouched: true },
  { name: 'fractional number where an integer is expected', args: { limit: '2.5' }, untouched: true },
  { name: 'a number out of range', args: { limit: 500 }, untouched: true },
  { name: 'non-numeric string for a number', args: { ratio: 'half' }, untouched: true },
  { name: 'yes/no for a boolean', args: { verbose: 'yes' }, untouched: true },
  { name: 'number where a string is expected', args: { name: 42 }, untouched: true },
  { name: 'unknown field (not renamed)', args: { Query: 'x' }, untouched: true },
  { name: 'missing required field', args: {}, untouched: true },
];

describe('auto-correction', () => {
  for (const c of CASES) {
    it(c.name, () => {
      // `page` is present unless a case is about defaults (its default would otherwise be filled in every repair).
      const args: JsonObject = { query: 'q', page: 1, ...c.args };
      for (const [k, v] of Object.entries(args)) if (v === undefined) delete args[k];
      if (c.name === 'missing required field') delete args['query'];
      const before = structuredClone(args);
      const outcome = correctArguments(validate, schema, args, defaults);
      expect(args, 'the input is never mutated').toEqual(before);
      if (c.fixed !== undefined) {
        expect(outcome.corrections).toEqual(c.fixed);
        expect(outcome.valid).toBe(true);
        expect(validate(outcome.args)).toBe(true);
      } else if (c.candidates !== undefined) {
        expect(outcome.corrections).toEqual([]);
        expect(outcome.valid).toBe(false);
        const [path, candidates] = c.candidates;
        expect(outcome.verdicts.get(`/${path}`)).toEqual({ candidates });
        expect(outcome.args).toBe(args);
      } else {
        expect(outcome.corrections).toEqual([]);
        expect(outcome.valid).toBe(false);
        expect(outcome.args).toBe(args);
        expect([...outcome.verdicts.values()].filter((v) => v.fix !== undefined)).toEqual([]);
      }
    });
  }
});

describe('edit distance', () => {
  it('counts insertions, deletions, substitutions and adjacent transpositions', () => {
    expect(editDistance('exact', 'exact', 2)).toBe(0);
    expect(editDistance('exsct', 'exact', 2)).toBe(1);
    expect(editDistance('exatc', 'exact', 2)).toBe(1);
    expect(editDistance('exac', 'exact', 2)).toBe(1);
    expect(editDistance('kitten', 'sitting', 3)).toBe(3);
  });

  it('gives up above the bound', () => {
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3);
    expect(editDistance('a', 'abcdefgh', 2)).toBe(3);
  });
});
