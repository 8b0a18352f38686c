import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkJson, fixture, freePort, gone, runCli } from './helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'tg-cli-'));

describe('toolgate check command line', () => {
  it('prints usage with --help and lists every check id with --list-checks', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--fail-on SEVERITY');
    const list = await runCli(['--list-checks']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^TG-CHK-E2\s+metadata\s+medium\s+Descriptions are present and short$/m);
  });

  it.each([
    [['--bogus', 'http://127.0.0.1:1/mcp'], /Unknown option '--bogus'/],
    [[], /missing target/],
    [['not-a-url'], /is not a URL; to check a command, write: toolgate check -- not-a-url/],
    [['ftp://host/mcp'], /unsupported URL scheme ftp:/],
    [['--fail-on', 'severe', 'http://127.0.0.1:1/mcp'], /--fail-on must be one of/],
    [['--only', 'TG-CHK-X9', 'http://127.0.0.1:1/mcp'], /unknown check id or category "TG-CHK-X9"/],
    [['--format', 'pdf', 'http://127.0.0.1:1/mcp'], /unknown --format "pdf"/],
    [['--format', 'json,html', 'http://127.0.0.1:1/mcp'], /several formats need --out DIR/],
    [['--timeout-ms', '0', 'http://127.0.0.1:1/mcp'], /--timeout-ms must be a positive integer/],
    [['--env', 'X=1', 'http://127.0.0.1:1/mcp'], /--env and --cwd apply to stdio targets only/],
    [['--bearer', 't', '--', 'node', 'x.js'], /apply to URL targets only/],
  ])('rejects bad arguments %j with exit 2 and TG_CLI_USAGE', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('[TG_CLI_USAGE]');
  });

  it('exits 3 with the reason when the command does not exist', async () => {
    const r = await runCli(['--', 'toolgate-no-such-binary-xyz']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot check the target: cannot start toolgate-no-such-binary-xyz: spawn .*ENOENT/);
  });

  it('exits 3 when the URL is unreachable', async () => {
    const port = await freePort();
    const r = await runCli([`http://127.0.0.1:${port}/mcp`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot connect to http:\/\/127\.0\.0\.1:\d+\/mcp: .*ECONNREFUSED/);
  });

  it('exits 3 and quotes stdout when the target writes garbage', async () => {
    const r = await runCli(['--timeout-ms', '1500', ...fixture('garbage')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('stdout is not JSON-RPC (first line: "hello, I am not JSON-RPC")');
  });

  it('exits 3 on a target that never answers, and leaves no process behind', async () => {
    const pidFile = join(tmp(), 'pids.json');
    const r = await runCli(['--timeout-ms', '1500', '--env', `PID_FILE=${pidFile}`, ...fixture('hang')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('did not answer the handshake within 1500 ms');
    const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as number[];
    expect(pids.length).toBe(2);
    for (const pid of pids) expect(gone(pid), `pid ${pid}`).toBe(true);
  });

  it('exits 1 when a finding reaches --fail-on, 0 below it', async () => {
    const high = await runCli(['--quiet', '--only', 'stdio', '--fail-on', 'high', ...fixture('broken-stdio')]);
    expect(high.code).toBe(1);
    expect(high.stdout).toContain('TG-CHK-B1');
    const critical = await runCli(['--quiet', '--only', 'stdio', '--fail-on', 'critical', ...fixture('broken-stdio')]);
    expect(critical.code).toBe(0);
  });

  it('accepts baselined findings, and fails on a stale baseline entry', async () => {
    const dir = tmp();
    const baseline = join(dir, 'baseline.json');
    const first = await runCli([
      '--quiet',
      '--only',
      'schema',
      '--write-baseline',
      baseline,
      ...fixture('broken-schema'),
    ]);
    expect(first.code).toBe(1);
    const accepted = await checkJson(['--only', 'schema', '--baseline', baseline, ...fixture('broken-schema')]);
    expect(accepted.run.code).toBe(0);
    expect(accepted.report.grade).toBe('A');
    expect(accepted.report.findings.every((f) => f.baselined === true)).toBe(true);
    const b = JSON.parse(readFileSync(baseline, 'utf8')) as { version: 1; accepted: { fingerprint: string }[] };
    b.accepted.push({ fingerprint: 'TG-CHK-F1:gone_tool' });
    writeFileSync(baseline, JSON.stringify(b));
    const stale = await runCli(['--only', 'schema', '--baseline', baseline, '--quiet', ...fixture('broken-schema')]);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toContain('Stale baseline entries (TG-CHK-Z1');
    expect(stale.stdout).toContain('TG-CHK-F1:gone_tool');
  });

  it('writes json, junit, markdown and html reports to a directory', async () => {
    const dir = join(tmp(), 'reports');
    const r = await runCli([
      '--quiet',
      '--fail-on',
      'none',
      '--only',
      'tokens,metadata',
      '--format',
      'json,junit,markdown,html',
      '--out',
      dir,
      ...fixture('broken-tokens'),
    ]);
    expect(r.code).toBe(0);
    for (const ext of ['json', 'xml', 'md', 'html'])
      expect(existsSync(join(dir, `toolgate-check.${ext}`)), ext).toBe(true);
    const xml = readFileSync(join(dir, 'toolgate-check.xml'), 'utf8');
    expect(xml).toMatch(
      /<testcase classname="toolgate\.check\.tokens" name="TG-CHK-G1 Tool definitions fit the context budget">\s*<failure type="medium"/,
    );
    expect(xml).toMatch(
      /<testcase classname="toolgate\.check\.http" name="TG-CHK-C1[^"]*">\s*<skipped message="filtered out/,
    );
    expect(readFileSync(join(dir, 'toolgate-check.md'), 'utf8')).toMatch(/\| medium \| TG-CHK-G1 \|/);
    const html = readFileSync(join(dir, 'toolgate-check.html'), 'utf8');
    expect(html).toContain('<span class="grade gB">B</span>');
    expect(html).not.toContain('<script');
    expect(r.stdout).toMatch(/^tokens\s+B\s+89\s+2\s+2$/m);
  });
});
