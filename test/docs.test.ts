import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('documentation', () => {
  it('docs/config.md is generated from the current schema (run `npm run docs:config` after changing a key)', async () => {
    const { renderConfigDoc } = await import('../scripts/gen-config-doc.mjs');
    const current = readFileSync(new URL('../docs/config.md', import.meta.url), 'utf8');
    expect(current).toBe(renderConfigDoc());
  });

  it('documents every config key with a description', async () => {
    const { renderConfigDoc } = await import('../scripts/gen-config-doc.mjs');
    const undocumented = renderConfigDoc()
      .split('\n')
      .filter((l) => l.startsWith('| `') && / \|\s*$/.test(l) && l.endsWith('|  |'));
    expect(undocumented).toEqual([]);
  });
});
