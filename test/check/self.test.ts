import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, checkJson } from './helpers.js';

// toolgate itself must pass its own checklist: `toolgate check -- toolgate serve --stdio` stays at grade A.
// The config fronts the in-process demo tools only: the demo's server-everything upstream is graded on its own in
// real-servers.test.ts and would drag the gateway's grade down with that server's own findings.
describe('toolgate checks toolgate', () => {
  it('grades `toolgate serve --stdio` A with no finding above low', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-self-'));
    const config = join(dir, 'toolgate.yaml');
    writeFileSync(
      config,
      [
        'server:',
        '  name: toolgate-self-check',
        'upstreams:',
        '  demo:',
        '    kind: local',
        `    module: ${join(ROOT, 'examples/tools/demo-tools.mjs')}`,
        '',
      ].join('\n'),
    );
    const { run, report } = await checkJson(
      ['--fail-on', 'medium', '--', process.execPath, BIN, 'serve', '--stdio', '--config', config],
      120_000,
    );
    expect(report.target).toMatchObject({ kind: 'stdio', era: 'modern', serverName: 'toolgate-self-check' });
    expect(report.findings.filter((f) => !['low', 'info'].includes(f.severity))).toEqual([]);
    expect(report.grade).toBe('A');
    expect(run.code).toBe(0);
  });
});
