import { describe, expect, it } from 'vitest';
import { templatePattern } from '../../src/catalog/catalog.js';
import { compileGlob } from '../../src/catalog/glob.js';
import { SettingsResolver } from '../../src/catalog/settings.js';
import { parseConfig } from '../../src/config/load.js';
import { paginate } from '../../src/protocol/paginate.js';

describe('glob', () => {
  it('matches names across the namespace separator and ranks specificity', () => {
    const all = compileGlob('*');
    const files = compileGlob('files__*');
    const exact = compileGlob('files__read');
    expect(files.test('files__read')).toBe(true);
    expect(files.test('web__read')).toBe(false);
    expect(compileGlob('*__read').test('files__read')).toBe(true);
    expect(compileGlob('f?les__read').test('files__read')).toBe(true);
    expect(compileGlob('a.b').test('aXb')).toBe(false);
    expect(all.specificity < files.specificity && files.specificity < exact.specificity).toBe(true);
  });
});

describe('settings resolution', () => {
  it('merges defaults, upstream policies and matching tool globs from general to specific', () => {
    const { config } = parseConfig(`
defaults: { timeoutMs: 1000 }
upstreams:
  files: { kind: stdio, command: x, policies: { timeoutMs: 2000 } }
  web: { kind: stdio, command: y }
tools:
  'files__read': { timeoutMs: 4000 }
  'files__*': { timeoutMs: 3000 }
  'web__delete': { enabled: false }
`);
    const r = new SettingsResolver(config);
    expect(r.resolve('files', 'files__read')).toMatchObject({
      settings: { timeoutMs: 4000 },
      sources: { timeoutMs: 'tools."files__read".timeoutMs' },
      enabled: true,
    });
    expect(r.resolve('files', 'files__write').settings.timeoutMs).toBe(3000);
    expect(r.resolve('web', 'web__get')).toMatchObject({
      settings: { timeoutMs: 1000 },
      sources: { timeoutMs: 'defaults.timeoutMs' },
    });
    expect(r.resolve('web', 'web__delete').enabled).toBe(false);
  });
});

describe('pagination', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  it('walks every item once with opaque cursors', () => {
    const seen: string[] = [];
    let cursor: unknown;
    for (let i = 0; i < 10; i++) {
      const page = paginate(items, (x) => x, cursor, 2);
      seen.push(...page.items);
      if (page.nextCursor === undefined) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(items);
  });

  it('stays consistent when items change between pages', () => {
    const first = paginate(items, (x) => x, undefined, 2);
    const changed = ['a', 'aa', 'c', 'd', 'e'];
    const second = paginate(changed, (x) => x, first.nextCursor, 2);
    expect(second.items).toEqual(['c', 'd']);
  });

  it('rejects a forged cursor with TG_INVALID_CURSOR', () => {
    expect(() => paginate(items, (x) => x, 'garbage!', 2)).toThrow(
      expect.objectContaining({ code: 'TG_INVALID_CURSOR' }),
    );
  });
});

describe('resource templates', () => {
  it('matches URIs of simple and reserved expansions', () => {
    expect(templatePattern('test://template/{id}/data').test('test://template/42/data')).toBe(true);
    expect(templatePattern('test://template/{id}/data').test('test://template/4/2/data')).toBe(false);
    expect(templatePattern('file://{+path}').test('file:///etc/hosts')).toBe(true);
  });
});
