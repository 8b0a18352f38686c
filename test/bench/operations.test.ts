import { describe, expect, it } from 'vitest';
import { modernMeta } from '../../src/bench/era.js';
import { parseMix } from '../../src/bench/mix-file.js';
import { createPicker, prepareOperation, shapeCheckOf } from '../../src/bench/operations.js';
import { classifyResult } from '../../src/bench/target.js';

describe('operation picking', () => {
  it('gives each operation exactly its weighted share, spread out rather than in runs', () => {
    const pick = createPicker(['a', 'b', 'c'], [3, 1, 1]);
    const seq = Array.from({ length: 1000 }, pick);
    expect(seq.filter((x) => x === 'a')).toHaveLength(600);
    expect(seq.filter((x) => x === 'b')).toHaveLength(200);
    expect(seq.filter((x) => x === 'c')).toHaveLength(200);
    // Smooth: never more than 3 of the heavy one in a row.
    expect(seq.join('')).not.toMatch(/aaaa/);
  });

  it('always returns the only operation when there is one', () => {
    const pick = createPicker(['x'], [5]);
    expect([pick(), pick()]).toEqual(['x', 'x']);
    expect(() => createPicker([], [])).toThrow(RangeError);
  });
});

describe('prepared operations', () => {
  it('builds tools/call params once, with the modern envelope when the target is modern', () => {
    const meta = modernMeta('2026-07-28');
    const op = prepareOperation(
      { label: 'echo', method: 'tools/call', name: 'echo', weight: 1, argSets: [{ text: 'a' }] },
      'modern',
      meta,
    );
    const p1 = op.nextParams();
    expect(p1).toEqual({ name: 'echo', arguments: { text: 'a' }, _meta: meta });
    expect(op.nextParams()).toBe(p1);
    expect(op.headerName).toBe('echo');
    expect(meta['io.modelcontextprotocol/protocolVersion']).toBe('2026-07-28');
    expect(Object.isFrozen(meta)).toBe(true);
  });

  it('rotates argument sets and sends legacy params without _meta', () => {
    const op = prepareOperation(
      { label: 's', method: 'tools/call', name: 'search', weight: 1, argSets: [{ q: 'a' }, { q: 'b' }] },
      'legacy',
      undefined,
    );
    expect(
      [op.nextParams(), op.nextParams(), op.nextParams()].map((p) => (p?.['arguments'] as { q: string }).q),
    ).toEqual(['a', 'b', 'a']);
  });

  it('sends no params for a bare legacy method and only _meta for a modern one', () => {
    expect(
      prepareOperation({ label: 'ping', method: 'ping', weight: 1, argSets: [] }, 'legacy', undefined).nextParams(),
    ).toBeUndefined();
    const meta = modernMeta('2026-07-28');
    expect(
      prepareOperation(
        { label: 'tools/list', method: 'tools/list', weight: 1, argSets: [] },
        'modern',
        meta,
      ).nextParams(),
    ).toEqual({ _meta: meta });
    const read = prepareOperation(
      { label: 'r', method: 'resources/read', uri: 'file:///a', weight: 1, argSets: [] },
      'legacy',
      undefined,
    );
    expect(read.nextParams()).toEqual({ uri: 'file:///a' });
    expect(read.headerName).toBe('file:///a');
  });
});

describe('correctness checks of answers', () => {
  const call = prepareOperation(
    { label: 'echo', method: 'tools/call', name: 'echo', weight: 1, argSets: [] },
    'legacy',
    undefined,
  );

  it('accepts a well-formed tool result and classifies isError as a tool error', () => {
    expect(classifyResult(call, { content: [{ type: 'text', text: 'hi' }] })).toEqual({ kind: 'ok' });
    expect(classifyResult(call, { content: [{ type: 'text', text: 'no such file' }], isError: true })).toEqual({
      kind: 'tool_error',
      message: 'no such file',
    });
  });

  it('flags results that do not have the shape of their method', () => {
    expect(classifyResult(call, { oops: true })).toEqual({ kind: 'invalid', reason: 'result.content is not an array' });
    expect(classifyResult(call, { content: [{ text: 'no type' }] })).toEqual({
      kind: 'invalid',
      reason: 'an item of result.content lacks a string "type"',
    });
    expect(classifyResult(call, { content: [], isError: 'yes' })).toMatchObject({ kind: 'invalid' });
    expect(classifyResult(call, { content: [], resultType: 'input_required' })).toMatchObject({ kind: 'invalid' });
    expect(classifyResult(call, 'text')).toEqual({ kind: 'invalid', reason: 'result is not an object' });
    expect(shapeCheckOf('tools/list')({ tools: [{ name: 'a' }] })).toBeUndefined();
    expect(shapeCheckOf('tools/list')({})).toBe('result.tools is not an array');
    expect(shapeCheckOf('server/discover')({ supportedVersions: [] })).toBeUndefined();
    expect(shapeCheckOf('custom/method')({ anything: 1 })).toBeUndefined();
  });
});

describe('--mix files', () => {
  it('reads weighted tools and methods with unique labels', () => {
    const specs = parseMix(
      `operations:
  - method: tools/list
  - tool: echo
    weight: 3
    args: { text: hi }
  - tool: echo
    argSets: [{ text: a }, { text: b }]
  - method: resources/read
    uri: file:///x
    weight: 2
`,
      'mix.yaml',
    );
    expect(specs.map((s) => [s.label, s.method, s.weight])).toEqual([
      ['tools/list', 'tools/list', 1],
      ['echo', 'tools/call', 3],
      ['echo#2', 'tools/call', 1],
      ['resources/read', 'resources/read', 2],
    ]);
    expect(specs[1]!.argSets).toEqual([{ text: 'hi' }]);
    expect(specs[2]!.argSets).toHaveLength(2);
    expect(specs[3]!.uri).toBe('file:///x');
  });

  it('accepts a bare list and tools/call with a name', () => {
    const specs = parseMix(`- method: tools/call\n  name: echo\n- method: ping\n  label: p\n`, 'm.yaml');
    expect(specs.map((s) => s.label)).toEqual(['echo', 'p']);
  });

  it('lists every problem with its path', () => {
    const bad = `operations:
  - tool: echo
    method: ping
  - weight: -1
    method: tools/list
  - method: resources/read
  - tool: x
    args: {}
    argSets: [{}]
  - method: tools/list
    colour: blue
`;
    let message = '';
    try {
      parseMix(bad, 'bad.yaml');
    } catch (err) {
      message = (err as Error).message;
      expect((err as { code: string }).code).toBe('TG_CLI_USAGE');
    }
    expect(message).toContain('--mix bad.yaml is not a valid mix');
    expect(message).toContain('operations.0: give either `tool: NAME` or `method: METHOD`');
    expect(message).toContain('operations.1.weight');
    expect(message).toContain('operations.2: resources/read needs `uri`');
    expect(message).toContain('operations.3: give `args` or `argSets`, not both');
    expect(message).toMatch(/operations\.4.*colour/);
  });

  it('rejects text that is not YAML or has no operations', () => {
    expect(() => parseMix('operations: [', 'x.yaml')).toThrow(/not valid YAML/);
    expect(() => parseMix('operations: []', 'x.yaml')).toThrow(/not a valid mix/);
  });
});
