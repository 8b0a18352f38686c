import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/check/catalog.js';
import type { CheckReport } from '../../src/check/types.js';
import { checkJson, fixture, ids, startHttpFixture, statuses, type HttpServer } from './helpers.js';

// Every run's outcomes are tallied: the last test proves each check id both failed on a broken fixture and passed on
// a clean one somewhere in this file (a check that cannot fail, or cannot pass, is a defect).
const seen = new Map<string, Set<string>>();
function tally(report: CheckReport): CheckReport {
  for (const [id, status] of statuses(report)) {
    if (!seen.has(id)) seen.set(id, new Set());
    seen.get(id)?.add(status);
  }
  return report;
}

const servers: HttpServer[] = [];
async function http(file: string, env: Record<string, string> = {}): Promise<HttpServer> {
  const s = await startHttpFixture(file, env);
  servers.push(s);
  return s;
}
afterAll(async () => {
  for (const s of servers) await s.stop();
});

const checkGroup = (group: string): string[] => ['--only', group, '--fail-on', 'none'];

describe('toolgate check on clean fixtures', () => {
  it('grades the clean stdio fixture A with no findings and exit code 0', async () => {
    const { run, report } = await checkJson(fixture('clean'));
    tally(report);
    expect(run.code).toBe(0);
    expect(report.findings).toEqual([]);
    expect(report.grade).toBe('A');
    expect(report.target).toMatchObject({ kind: 'stdio', era: 'legacy', serverName: 'clean-fixture', tools: 4 });
    expect(report.measurements['tokenizer']).toBe('o200k_base (gpt-tokenizer)');
    const st = statuses(report);
    for (const id of ['TG-CHK-A12', 'TG-CHK-B3', 'TG-CHK-F6', 'TG-CHK-H3', 'TG-CHK-I1', 'TG-CHK-K2'])
      expect(st.get(id), id).toBe('pass');
  });

  it('passes the HTTP and auth groups on the clean legacy HTTP fixture with a valid token', async () => {
    const s = await http('http-clean');
    const { run, report } = await checkJson(['--bearer', 'good-token', s.url]);
    tally(report);
    expect(report.findings).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.target).toMatchObject({ kind: 'http', era: 'legacy' });
    const st = statuses(report);
    for (const id of [
      'TG-CHK-C1',
      'TG-CHK-C2',
      'TG-CHK-C3',
      'TG-CHK-C4',
      'TG-CHK-C6',
      'TG-CHK-D1',
      'TG-CHK-D2',
      'TG-CHK-D3',
      'TG-CHK-D4',
    ]) {
      expect(st.get(id), id).toBe('pass');
    }
  });

  it('passes the header/body checks on an SDK v2 server (2026-07-28)', async () => {
    const s = await http('http-clean-modern');
    const { report } = await checkJson([...checkGroup('http'), s.url]);
    tally(report);
    expect(report.target.era).toBe('modern');
    expect(report.findings).toEqual([]);
    expect(statuses(report).get('TG-CHK-C5')).toBe('pass');
  });

  it('passes D5 for an authenticated server on a non-loopback name', async () => {
    const s = await http('http-clean', { FIXTURE_HOST: 'mcp.example.test' });
    const { report } = await checkJson([
      ...checkGroup('auth'),
      '--bearer',
      'good-token',
      '--resolve',
      'mcp.example.test:127.0.0.1',
      `http://mcp.example.test:${s.port}/mcp`,
    ]);
    tally(report);
    expect(report.findings).toEqual([]);
    expect(statuses(report).get('TG-CHK-D5')).toBe('pass');
  });
});

describe('toolgate check on broken fixtures (each violates one group)', () => {
  it('finds every protocol violation', async () => {
    const { run, report } = await checkJson([...checkGroup('protocol'), ...fixture('broken-protocol')]);
    tally(report);
    expect(run.code).toBe(0); // --fail-on none
    expect(ids(report)).toEqual(
      CHECKS.filter((c) => c.category === 'protocol')
        .map((c) => c.id)
        .sort(),
    );
    const a8 = report.findings.find((f) => f.id === 'TG-CHK-A8');
    expect(a8?.evidence).toContain('instead of a JSON-RPC error');
    expect(report.findings.find((f) => f.id === 'TG-CHK-A12')?.evidence).toContain('after notifications/cancelled');
  });

  it('finds stdout noise, slow start and a server that needs SIGKILL', async () => {
    const { report } = await checkJson([...checkGroup('stdio'), ...fixture('broken-stdio')]);
    tally(report);
    expect(ids(report)).toEqual(['TG-CHK-B1', 'TG-CHK-B2', 'TG-CHK-B3']);
    expect(report.findings.find((f) => f.id === 'TG-CHK-B1')?.evidence).toContain('belongs on stderr');
    expect(report.findings.find((f) => f.id === 'TG-CHK-B3')).toMatchObject({ severity: 'high' });
    expect(report.measurements['shutdown']).toMatch(/^sigkill/);
  });

  it('finds metadata problems, including the seed 000 description and tool-count limits', async () => {
    const { report } = await checkJson([...checkGroup('metadata'), ...fixture('broken-metadata')]);
    tally(report);
    expect(ids(report)).toEqual([
      'TG-CHK-E1',
      'TG-CHK-E2',
      'TG-CHK-E3',
      'TG-CHK-E4',
      'TG-CHK-E5',
      'TG-CHK-E6',
      'TG-CHK-E7',
    ]);
    const e2 = report.findings.filter((f) => f.id === 'TG-CHK-E2');
    expect(e2.map((f) => f.subject).sort()).toEqual(['listOrders', 'search-catalog']);
    expect(e2.find((f) => f.subject === 'search-catalog')?.evidence).toMatch(/alert above 1000/);
    expect(report.findings.find((f) => f.id === 'TG-CHK-E4' && f.subject === 'delete_order')?.evidence).toContain(
      'destructiveHint',
    );
    expect(report.findings.find((f) => f.id === 'TG-CHK-E7')?.evidence).toContain('55 tools');
    expect(report.notes.join(' ')).toContain('delete_order (name suggests deletion)');
  });

  it('finds loose schemas and a server that does not enforce them', async () => {
    const { report } = await checkJson([...checkGroup('schema'), ...fixture('broken-schema')]);
    tally(report);
    expect(ids(report)).toEqual(['TG-CHK-F1', 'TG-CHK-F2', 'TG-CHK-F3', 'TG-CHK-F4', 'TG-CHK-F5', 'TG-CHK-F6']);
    const f6 = report.findings.filter((f) => f.id === 'TG-CHK-F6').map((f) => f.subject);
    expect(f6).toEqual(
      expect.arrayContaining([
        'convert_units: missing required "value"',
        'convert_units: unknown property "toolgate_unexpected"',
      ]),
    );
  });

  it('counts tokens with a named tokenizer and flags an oversized tool list', async () => {
    const { report } = await checkJson([...checkGroup('tokens'), ...fixture('broken-tokens')]);
    tally(report);
    expect(ids(report)).toEqual(['TG-CHK-G1', 'TG-CHK-G2']);
    expect(report.findings.find((f) => f.id === 'TG-CHK-G1')?.evidence).toMatch(/o200k_base .* of a 128k window/);
    expect(Number(report.measurements['tools/list tokens'])).toBeGreaterThan(19_200);
  });

  it('finds internal errors, a hang and a crash under bad input', async () => {
    const { report } = await checkJson([
      ...checkGroup('robustness'),
      '--timeout-ms',
      '3000',
      ...fixture('broken-robustness'),
    ]);
    tally(report);
    expect(ids(report)).toEqual(['TG-CHK-H1', 'TG-CHK-H2', 'TG-CHK-H4', 'TG-CHK-H5']);
    expect(report.findings.find((f) => f.id === 'TG-CHK-H4')?.evidence).toMatch(/tree_depth.*exited \(code 3/);
    expect(report.findings.find((f) => f.id === 'TG-CHK-H5')?.subject).toBe('parse_text: text: NUL byte');
  });

  it('proves path traversal, command injection and SSRF by their effects', async () => {
    const { report } = await checkJson([...checkGroup('robustness'), ...fixture('broken-attacks')]);
    tally(report);
    const h3 = report.findings.filter((f) => f.id === 'TG-CHK-H3');
    expect(h3.map((f) => f.subject).sort()).toEqual(['fetch_page ssrf', 'ping_host command', 'read_file path']);
    expect(h3.find((f) => f.subject === 'read_file path')?.evidence).toContain('root:');
    expect(h3.find((f) => f.subject === 'ping_host command')?.evidence).toMatch(/uid=\d+/);
  });

  it('finds planted canaries, secret formats, stack traces and internal paths', async () => {
    const { report } = await checkJson([...checkGroup('leakage'), ...fixture('broken-leakage')]);
    tally(report);
    expect(ids(report)).toEqual(['TG-CHK-I1', 'TG-CHK-I2', 'TG-CHK-I3', 'TG-CHK-I4']);
    const i1 = report.findings.filter((f) => f.id === 'TG-CHK-I1');
    expect(i1.length).toBe(3);
    expect(i1.every((f) => f.severity === 'critical' && f.subject?.endsWith('in diagnostics'))).toBe(true);
    // Evidence masks the secret: never the full canary value.
    expect(JSON.stringify(report)).not.toMatch(/ghp_tgcanary[0-9a-f]{28}/);
  });

  it('finds hidden Unicode, model-directed instructions, blobs, cross-tool steering and a rug pull', async () => {
    const pin = join(mkdtempSync(join(tmpdir(), 'tg-pin-')), 'pins.json');
    const first = await checkJson([...checkGroup('poisoning'), '--pin', pin, ...fixture('broken-poisoning')]);
    tally(first.report);
    expect(ids(first.report)).toEqual(['TG-CHK-J1', 'TG-CHK-J2', 'TG-CHK-J3', 'TG-CHK-J4']);
    expect(statuses(first.report).get('TG-CHK-J5')).toBe('skip');
    expect(first.report.findings.find((f) => f.id === 'TG-CHK-J1')?.evidence).toContain('spell "send the chat log"');
    const same = await checkJson([...checkGroup('poisoning'), '--pin', pin, ...fixture('broken-poisoning')]);
    tally(same.report);
    expect(statuses(same.report).get('TG-CHK-J5')).toBe('pass');
    const changed = await checkJson([
      ...checkGroup('poisoning'),
      '--pin',
      pin,
      '--env',
      'FIXTURE_VARIANT=2',
      ...fixture('broken-poisoning'),
    ]);
    tally(changed.report);
    expect(changed.report.findings.filter((f) => f.id === 'TG-CHK-J5').map((f) => f.subject)).toEqual([
      'weather_now changed',
    ]);
  });

  it('measures latency percentiles and flags slow lists and tools', async () => {
    const { report } = await checkJson([
      ...checkGroup('performance'),
      '--perf-samples',
      '4',
      ...fixture('broken-performance'),
    ]);
    tally(report);
    expect(ids(report)).toEqual(['TG-CHK-K1', 'TG-CHK-K2']);
    expect(report.measurements['tools/list latency']).toMatch(/^p50 \d/);
  });

  it('finds DNS-rebinding exposure, session and version errors over legacy HTTP', async () => {
    const s = await http('http-broken-transport');
    const { report } = await checkJson([...checkGroup('http'), s.url]);
    tally(report);
    expect(ids(report)).toEqual(['TG-CHK-C1', 'TG-CHK-C2', 'TG-CHK-C3', 'TG-CHK-C4', 'TG-CHK-C6']);
    expect(report.findings.find((f) => f.id === 'TG-CHK-C3')?.evidence).toContain('HTTP 400 (expected 404');
  });

  it('finds header/body mismatches accepted over 2026-07-28 HTTP', async () => {
    const s = await http('http-broken-modern');
    const { report } = await checkJson([...checkGroup('http'), s.url]);
    tally(report);
    expect(report.target.era).toBe('modern');
    expect(
      report.findings
        .filter((f) => f.id === 'TG-CHK-C5')
        .map((f) => f.subject)
        .sort(),
    ).toEqual(['MCP-Protocol-Version', 'Mcp-Method', 'Mcp-Name']);
  });

  it('finds forged tokens accepted, query-string tokens, and a missing challenge and metadata', async () => {
    const s = await http('http-broken-auth');
    const { report } = await checkJson([...checkGroup('auth'), '--bearer', 'good-token', s.url]);
    tally(report);
    expect(ids(report)).toEqual(['TG-CHK-D1', 'TG-CHK-D2', 'TG-CHK-D3', 'TG-CHK-D4']);
    const d3 = report.findings.filter((f) => f.id === 'TG-CHK-D3');
    expect(d3.length).toBe(4);
    expect(d3.every((f) => f.severity === 'critical')).toBe(true);
  });

  it('flags an open server on a non-loopback address', async () => {
    const s = await http('http-broken-transport');
    const { report } = await checkJson([
      ...checkGroup('auth'),
      '--resolve',
      'mcp.example.test:127.0.0.1',
      `http://mcp.example.test:${s.port}/mcp`,
    ]);
    tally(report);
    expect(ids(report)).toEqual(['TG-CHK-D5']);
  });
});

describe('coverage of the catalog', () => {
  it('saw every check id fail on a broken fixture and pass on a clean one', () => {
    const neverFailed = CHECKS.filter((c) => !seen.get(c.id)?.has('fail')).map((c) => c.id);
    const neverPassed = CHECKS.filter((c) => !seen.get(c.id)?.has('pass')).map((c) => c.id);
    expect(neverFailed).toEqual([]);
    expect(neverPassed).toEqual([]);
  });
});
