import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, checkJson } from './helpers.js';

// toolgate itself must pass its own checklist: `toolgate check -- toolgate serve --stdio` stays at grade A.
// The config fronts the in-process demo tools only: the demo's server-everything upstream is graded on its own in
// real-servers.test.ts and would drag the gateway's grade down with that server's own findings.
describe('toolgate checks toolgate', () => {
  it('grades `toolgate serve --stdio --config examples/check-self.yaml` A with no finding above low', async () => {
    const config = join(ROOT, 'examples/check-self.yaml');
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
