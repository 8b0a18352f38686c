import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/check/catalog.js';
import { applyBaseline, exitCode, letter, score } from '../../src/check/grade.js';
import { attackProbes, validObject } from '../../src/check/inputs.js';
import { nameSuggestsDeletion } from '../../src/check/context.js';
import { convention } from '../../src/check/metadata.js';
import { hiddenCharacters, toolFingerprint } from '../../src/check/poisoning.js';
import { percentile } from '../../src/check/performance.js';
import { sameResource } from '../../src/check/auth.js';
import { isLoopbackHost } from '../../src/check/http-transport.js';
import type { Finding } from '../../src/check/types.js';

const finding = (id: string, severity: Finding['severity'], subject?: string): Finding => ({
  id,
  category: 'metadata',
  severity,
  title: id,
  evidence: '',
  checklist: '',
  remediation: '',
  fingerprint: subject === undefined ? id : `${id}:${subject}`,
  ...(subject === undefined ? {} : { subject }),
});

describe('check catalog and docs', () => {
  const doc = readFileSync(new URL('../../docs/check.md', import.meta.url), 'utf8');
  it('documents every check id in docs/check.md, and no unknown ones', () => {
    const documented = new Set([...doc.matchAll(/^\| `(TG-CHK-[A-Z]\d+)` \|/gm)].map((m) => m[1]));
    expect(CHECKS.filter((c) => !documented.has(c.id)).map((c) => c.id)).toEqual([]);
    expect([...documented].filter((id) => id !== 'TG-CHK-Z1' && !CHECKS.some((c) => c.id === id))).toEqual([]);
  });
  it('has unique ids', () => {
    expect(new Set(CHECKS.map((c) => c.id)).size).toBe(CHECKS.length);
  });
});

describe('grading', () => {
  it('charges each failing check once, at its worst severity', () => {
    const fs = [
      finding('TG-CHK-F2', 'low', 'a'),
      finding('TG-CHK-F2', 'low', 'b'),
      finding('TG-CHK-E2', 'medium', 'x'),
      finding('TG-CHK-E2', 'low', 'y'),
    ];
    expect(score(fs)).toBe(100 - 3 - 8);
  });
  it('caps the grade at D with a critical finding and at B with a high one', () => {
    expect(letter(95, [finding('TG-CHK-I1', 'critical')])).toBe('D');
    expect(letter(95, [finding('TG-CHK-C1', 'high')])).toBe('B');
    expect(letter(95, [])).toBe('A');
  });
  it('marks baselined findings, reports stale entries and fails on them', () => {
    const fs = [finding('TG-CHK-E2', 'medium', 'x')];
    const stale = applyBaseline(fs, {
      version: 1,
      accepted: [{ fingerprint: 'TG-CHK-E2:x' }, { fingerprint: 'TG-CHK-E1:old' }],
    });
    expect(fs[0]?.baselined).toBe(true);
    expect(stale).toEqual(['TG-CHK-E1:old']);
    expect(exitCode(fs, stale, 'high')).toBe(1);
    expect(exitCode(fs, [], 'low')).toBe(0);
    expect(exitCode([finding('TG-CHK-E2', 'medium')], [], 'medium')).toBe(1);
    expect(exitCode([finding('TG-CHK-E2', 'medium')], [], 'high')).toBe(0);
  });
});

describe('input generation', () => {
  const bait = { validUrl: 'http://127.0.0.1:1/valid', ssrfUrls: ['http://127.0.0.1:1/ssrf'] };
  it('builds a cheap valid object: required fields, enum values, small numbers, loopback URLs', () => {
    const schema = {
      type: 'object',
      properties: {
        mode: { type: 'string', enum: ['fast', 'slow'] },
        count: { type: 'integer', minimum: 5 },
        duration: { type: 'number', default: 10 },
        url: { type: 'string' },
        optional: { type: 'string' },
      },
      required: ['mode', 'count', 'url'],
    };
    expect(validObject(schema, schema, bait)).toEqual({ mode: 'fast', count: 5, url: bait.validUrl, duration: 1 });
  });
  it('chooses attack payloads by parameter name, read-only SQL probes only', () => {
    const schema = {
      type: 'object',
      properties: {
        filePath: { type: 'string' },
        command: { type: 'string' },
        query: { type: 'string' },
        callbackUrl: { type: 'string' },
      },
    };
    const probes = attackProbes(schema, {}, bait, 50);
    expect(new Set(probes.map((p) => p.kind))).toEqual(new Set(['path', 'command', 'sql', 'ssrf']));
    expect(probes.some((p) => /drop|delete|truncate/i.test(JSON.stringify(p.args)))).toBe(false);
  });
});

describe('detectors', () => {
  it('recognises deletion-like names across conventions', () => {
    expect(['delete_user', 'removeItem', 'drop-table', 'files.rm', 'purgeCache'].every(nameSuggestsDeletion)).toBe(
      true,
    );
    expect(['get_model', 'read_file', 'format_date_string'].map(nameSuggestsDeletion)).toEqual([false, false, true]);
  });
  it('classifies naming conventions', () => {
    expect(['get_user', 'get-user', 'getUser', 'GetUser', 'get', 'get_User'].map(convention)).toEqual([
      'snake_case',
      'kebab-case',
      'camelCase',
      'PascalCase',
      undefined,
      'mixed',
    ]);
  });
  it('decodes Unicode tag characters hidden in text', () => {
    const hidden = 'ok' + [...'hi'].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
    expect(hiddenCharacters(hidden)?.decodedTags).toBe('hi');
    expect(hiddenCharacters('plain text\nwith newline')).toBeUndefined();
  });
  it('fingerprints tools independently of key order, and notices a changed schema', () => {
    const a = { name: 't', description: 'd', inputSchema: { type: 'object', properties: { x: { type: 'string' } } } };
    const b = { inputSchema: { properties: { x: { type: 'string' } }, type: 'object' }, description: 'd', name: 't' };
    expect(toolFingerprint(a)).toBe(toolFingerprint(b));
    expect(toolFingerprint(a)).not.toBe(toolFingerprint({ ...a, inputSchema: { type: 'object' } }));
  });
  it('computes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(v, 50), percentile(v, 95), percentile(v, 99)]).toEqual([50, 95, 99]);
  });
  it('compares resource identifiers and loopback hosts', () => {
    expect(sameResource('HTTP://Example.com/mcp/', 'http://example.com/mcp')).toBe(true);
    expect(sameResource('http://example.com/a', 'http://example.com/b')).toBe(false);
    expect(['127.0.0.1', 'localhost', '[::1]', '127.8.9.10'].every(isLoopbackHost)).toBe(true);
    expect(isLoopbackHost('mcp.example.test')).toBe(false);
  });
});
