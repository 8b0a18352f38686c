import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, checkJson, freePort, startServer, type HttpServer } from './helpers.js';

const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const FILESYSTEM = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');

const servers: HttpServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe('toolgate check on the official reference servers', () => {
  it('finds server-everything leaking its environment through get-env (stdio)', async () => {
    const { report } = await checkJson(
      ['--only', 'leakage,protocol', '--fail-on', 'none', '--', process.execPath, EVERYTHING, 'stdio'],
      120_000,
    );
    expect(report.target).toMatchObject({ era: 'legacy', serverName: 'mcp-servers/everything' });
    const leak = report.findings.filter((f) => f.id === 'TG-CHK-I1');
    expect(leak.map((f) => f.subject)).toContain('TOOLGATE_CANARY_API_KEY in get-env');
    expect(leak.every((f) => f.severity === 'critical')).toBe(true);
    // SDK v1 answers an unknown tool with an isError text result, not a JSON-RPC error.
    expect(report.findings.find((f) => f.id === 'TG-CHK-A8')?.evidence).toContain('Tool toolgate-no-such-tool-');
    expect(report.grade).not.toBe('A');
  });

  it('finds server-everything accepting foreign Origins and Hosts over Streamable HTTP', async () => {
    const port = String(await freePort());
    const s = await startServer(process.execPath, [EVERYTHING, 'streamableHttp'], { PORT: port }, (line) =>
      /listening on port (\d+)/.exec(line) ? port : undefined,
    );
    servers.push(s);
    const { report } = await checkJson(['--only', 'http', '--fail-on', 'none', s.url], 120_000);
    const found = new Set(report.findings.map((f) => f.id));
    expect(found.has('TG-CHK-C1')).toBe(true);
    expect(found.has('TG-CHK-C2')).toBe(true);
    expect(report.findings.find((f) => f.id === 'TG-CHK-C3' && f.subject === 'terminated session')?.evidence).toContain(
      'HTTP 400 (expected 404',
    );
  });

  it('checks server-filesystem: path traversal is refused, but its errors reveal absolute paths', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tg-fs-'));
    writeFileSync(join(root, 'hello.txt'), 'hello');
    const { report } = await checkJson(
      ['--only', 'robustness,leakage,metadata', '--fail-on', 'none', '--', process.execPath, FILESYSTEM, root],
      120_000,
    );
    expect(report.target.tools).toBeGreaterThanOrEqual(10);
    expect(report.findings.filter((f) => f.id === 'TG-CHK-H3')).toEqual([]);
    const st = new Map(report.checks.map((c) => [c.id, c.status]));
    expect(st.get('TG-CHK-H3')).toBe('pass');
    expect(report.findings.some((f) => f.id === 'TG-CHK-I4' && f.evidence.includes(root))).toBe(true);
    // write_file, edit_file, move_file are destructive: never called without --allow-destructive.
    expect(report.notes.join(' ')).toMatch(/write_file \(destructiveHint: true\)/);
  });
});
