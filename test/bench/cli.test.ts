import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bench, benchJson, ECHO, groupAlive, SDK_HTTP, freePort } from './helpers.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'toolgate-bench-'));
  writeFileSync(join(dir, 'a.txt'), 'hello from the bench\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The environment npx sees when the network is unreachable: it must resolve the package locally or fail. */
const OFFLINE_ENV = { ...process.env, npm_config_offline: 'true', npm_config_registry: 'http://127.0.0.1:9/' };

describe('toolgate bench against real servers', () => {
  it('runs the seed example as written: server-filesystem via npx, 10 concurrent, 1000 requests', async () => {
    const run = await bench(
      ['--server', `npx @modelcontextprotocol/server-filesystem ${dir}`, '--concurrent', '10', '--requests', '1000'],
      { env: OFFLINE_ENV, timeoutMs: 60_000 },
    );
    expect(run.stderr).toContain('load goes to stdio child process: npx @modelcontextprotocol/server-filesystem');
    expect(run.stderr).toContain('benchmarking tools/list');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/legacy era \(2025-11-25\), server secure-filesystem-server/);
    expect(run.stdout).toMatch(/10 concurrent, 1000 requests/);
    // Outcomes row: 1000 ok, nothing else.
    expect(run.stdout).toMatch(/^\s+server\s+1000\s+0\s+0\s+0\s+0\s+0\s+0\s*$/m);
  }, 60_000);

  it('calls a filesystem tool under load and counts its tool errors exactly', async () => {
    const readFile = (n: number, file: string): ReturnType<typeof benchJson> =>
      benchJson(
        ['--server', `npx @modelcontextprotocol/server-filesystem ${dir}`, '-c', '5', '-n', String(n)].concat([
          '--tool',
          'read_text_file',
          '--args',
          JSON.stringify({ path: join(dir, file) }),
        ]),
        { env: OFFLINE_ENV, timeoutMs: 60_000 },
      );
    const ok = await readFile(200, 'a.txt');
    expect(ok.run.code).toBe(0);
    const t = ok.report.targets[0]!;
    expect(t.outcomes).toMatchObject({ total: 200, ok: 200, toolErrors: 0, timeouts: 0 });
    expect(t.correctness.mismatches).toBe(0);
    expect(t.process?.maxProcesses).toBeGreaterThanOrEqual(2); // npx and the server it runs
    expect(t.process?.peakRssBytes).toBeGreaterThan(20 * 2 ** 20);
    expect(groupAlive(t.process!.rootPid)).toBe(false);

    const missing = await readFile(100, 'missing.txt');
    expect(missing.report.targets[0]!.outcomes).toMatchObject({ total: 100, ok: 0, toolErrors: 100 });
    expect(missing.report.targets[0]!.topErrors[0]!.message).toMatch(/^tool error: .*ENOENT|no such file/i);
  }, 90_000);

  it('loads server-everything over Streamable HTTP spread over legacy sessions, starting and stopping it', async () => {
    const port = await freePort();
    const { run, report } = await benchJson(
      [
        '--url',
        `http://127.0.0.1:${port}/mcp`,
        '--start',
        'node node_modules/@modelcontextprotocol/server-everything/dist/index.js streamableHttp',
        '--sessions',
        '3',
        '--tool',
        'echo',
        '--args',
        '{"message":"hi"}',
        '-n',
        '300',
        '-c',
        '6',
      ],
      { env: { ...process.env, PORT: String(port) }, timeoutMs: 60_000 },
    );
    expect(run.code).toBe(0);
    const t = report.targets[0]!;
    expect(t).toMatchObject({ transport: 'http', era: 'legacy', sessions: 3, server: 'mcp-servers/everything 2.0.0' });
    expect(t.outcomes).toMatchObject({ total: 300, ok: 300 });
    expect(t.correctness.mismatches).toBe(0);
    expect(t.process?.peakRssBytes).toBeGreaterThan(0);
    expect(groupAlive(t.process!.rootPid)).toBe(false);
  }, 60_000);

  it('speaks the modern era to an SDK v2 server over HTTP, and the legacy era when asked', async () => {
    const port = await freePort();
    const common = [
      '--url',
      `http://127.0.0.1:${port}/mcp`,
      '--start',
      `node ${SDK_HTTP}`,
      '--tool',
      'echo',
      '--args',
      '{"text":"x"}',
      '-n',
      '150',
      '-c',
      '3',
    ];
    const env = { ...process.env, PORT: String(port) };
    const modern = await benchJson(common, { env });
    expect(modern.report.targets[0]).toMatchObject({
      era: 'modern',
      protocolVersion: '2026-07-28',
      server: 'bench-sdk-echo 1.0.0',
    });
    expect(modern.report.targets[0]!.outcomes).toMatchObject({ total: 150, ok: 150 });
    const legacy = await benchJson([...common, '--era', 'legacy'], { env });
    expect(legacy.report.targets[0]).toMatchObject({ era: 'legacy' });
    expect(legacy.report.targets[0]!.outcomes).toMatchObject({ total: 150, ok: 150 });
  }, 60_000);

  it('measures a server it did not start through --pid, and says when it has no process to measure', async () => {
    const port = await freePort();
    const server = spawn(process.execPath, [SDK_HTTP], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise((resolve) => server.stdout.once('data', resolve)); // it prints its port when listening
      const url = `http://127.0.0.1:${port}/mcp`;
      const args = ['--url', url, '--tool', 'echo', '--args', '{"text":"x"}', '-n', '100'];
      const measured = (await benchJson([...args, '--pid', String(server.pid)])).report.targets[0]!;
      expect(measured.process).toMatchObject({ rootPid: server.pid, maxProcesses: 1 });
      expect(measured.process!.peakRssBytes).toBeGreaterThan(0);
      const unmeasured = (await benchJson(args)).report.targets[0]!;
      expect(unmeasured.process).toBeUndefined();
      expect(unmeasured.processNote).toMatch(/use --start .* or --pid PID/);
      expect(server.exitCode).toBeNull(); // bench leaves a server it did not start alone
    } finally {
      server.kill();
    }
  });

  it('detects the era of a stdio server: modern by server/discover, legacy by fallback to initialize', async () => {
    const modern = await benchJson(['--server', `node ${ECHO} --era modern`, '--tool', 'echo', '-n', '100']);
    expect(modern.report.targets[0]).toMatchObject({ era: 'modern', protocolVersion: '2026-07-28' });
    expect(modern.report.targets[0]!.outcomes.ok).toBe(100);
    const legacy = await benchJson(['--server', `node ${ECHO} --era legacy`, '--method', 'ping', '-n', '100']);
    expect(legacy.report.targets[0]).toMatchObject({ era: 'legacy', protocolVersion: '2025-11-25' });
    expect(legacy.report.targets[0]!.outcomes.ok).toBe(100);
    const forced = await bench(['--server', `node ${ECHO} --era legacy`, '--era', 'modern', '-n', '10', '-q']);
    expect(forced.code).toBe(3);
    expect(forced.stderr).toContain('--era modern, but server/discover failed');
  }, 30_000);
});

describe('error accounting and correctness under load', () => {
  it('counts every outcome class exactly against a server that fails a known share of calls', async () => {
    const rules = { hang: 50, rpc: 7, tool: 4, bad: 10, stray: 13 };
    const n = 200;
    const expected = { ok: 0, toolErrors: 0, rpc: 0, timeouts: 0, invalid: 0, stray: 0 };
    for (let i = 1; i <= n; i++) {
      if (i % rules.hang === 0) expected.timeouts++;
      else if (i % rules.rpc === 0) expected.rpc++;
      else if (i % rules.tool === 0) expected.toolErrors++;
      else if (i % rules.bad === 0) expected.invalid++;
      else {
        expected.ok++;
        if (i % rules.stray === 0) expected.stray++;
      }
    }
    const server = `node ${ECHO} --hang-every ${rules.hang} --rpc-error-every ${rules.rpc} --tool-error-every ${rules.tool} --bad-shape-every ${rules.bad} --stray-every ${rules.stray}`;
    const { run, report } = await benchJson([
      '--server',
      server,
      '--tool',
      'echo',
      '--args',
      '{"text":"x"}',
      '-n',
      String(n),
      '-c',
      '5',
      '--timeout',
      '300ms',
      '--assert',
      'mismatches==0',
    ]);
    const t = report.targets[0]!;
    expect(t.outcomes).toEqual({
      total: n,
      ok: expected.ok,
      toolErrors: expected.toolErrors,
      rpcErrors: { '-32603': expected.rpc },
      transportErrors: {},
      timeouts: expected.timeouts,
      invalid: { 'result.content is not an array': expected.invalid },
    });
    expect(t.correctness).toEqual({
      unmatchedResponses: expected.stray,
      lateResponses: 0,
      invalidAnswers: expected.invalid,
      mismatches: expected.stray + expected.invalid,
    });
    expect(t.errors.errorRate).toBeCloseTo((n - expected.ok) / n, 10);
    expect(t.latency.count).toBe(n - expected.timeouts);
    // The assertion on correctness fails, so the exit code says so.
    expect(report.assertions).toEqual([
      expect.objectContaining({ expression: 'mismatches==0', pass: false, actual: expected.stray + expected.invalid }),
    ]);
    expect(run.code).toBe(1);
  }, 30_000);

  it('stops when the stdio server dies mid-run, reports what it got and exits 3', async () => {
    const { run, report } = await benchJson([
      '--server',
      `node ${ECHO} --exit-after 40`,
      '--tool',
      'echo',
      '-n',
      '500',
      '-c',
      '1',
    ]);
    expect(run.code).toBe(3);
    const t = report.targets[0]!;
    expect(t.stopReason).toBe('target-failed');
    expect(t.stopDetail).toBe('the server process exited with code 1');
    expect(t.outcomes.ok).toBe(39);
    expect(t.outcomes.transportErrors).toEqual({ process_exited: 1 });
  }, 30_000);

  it('fails with a clear message when the server never completes the handshake', async () => {
    const run = await bench([
      '--server',
      `node -e "console.error('cannot open database'); process.exit(2)"`,
      '-n',
      '10',
    ]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('the stdio server did not complete the MCP handshake');
    expect(run.stderr).toContain('cannot open database');
    expect(run.stderr).toContain('[TG_BENCH_TARGET_FAILED]');
  });
});

describe('load shapes, mixes, compare and outputs', () => {
  it('paces requests in --rate mode and reports the offered rate and service time', async () => {
    // 32 workers share the stop and timeout signals: no listener-leak warning may appear.
    const args = [
      '--server',
      `node ${ECHO}`,
      '--tool',
      'echo',
      '--rate',
      '400/s',
      '-n',
      '200',
      '-c',
      '32',
      '--warmup',
      '20',
    ];
    const { run, report } = await benchJson(args);
    expect(run.stderr).not.toMatch(/Warning/);
    const t = report.targets[0]!;
    expect(t.plan.ratePerSec).toBe(400);
    expect(t.offeredRate).toBe(400);
    expect(t.serviceTime?.count).toBe(200);
    expect(t.completed).toBe(200);
    expect(t.warmupCompleted).toBe(20);
    expect(t.maxSendLagMs).toBeTypeOf('number');
  });

  it('runs a weighted --mix with exact shares per operation', async () => {
    const mix = join(dir, 'mix.yaml');
    writeFileSync(
      mix,
      'operations:\n  - tool: echo\n    weight: 3\n    argSets: [{ text: a }, { text: b }]\n  - method: tools/list\n    weight: 1\n',
    );
    const { report } = await benchJson(['--server', `node ${ECHO}`, '--mix', mix, '-n', '400']);
    const ops = Object.fromEntries(report.targets[0]!.operations.map((o) => [o.label, o.outcomes.ok]));
    expect(ops).toEqual({ echo: 300, 'tools/list': 100 });
  });

  it('compares targets in alternating rounds with per-round and median ratios', async () => {
    const { run, report } = await benchJson([
      '--compare',
      '--target',
      `direct=node ${ECHO}`,
      '--target',
      `slow=node ${ECHO} --delay-ms 2`,
      '--rounds',
      '2',
      '--tool',
      'echo',
      '-n',
      '100',
      '-c',
      '2',
      '--assert',
      'slow:p50_ratio>1',
    ]);
    expect(run.code).toBe(0);
    expect(report.targets.map((t) => t.label)).toEqual(['direct', 'slow']);
    expect(report.targets.map((t) => t.completed)).toEqual([200, 200]);
    const c = report.compare!;
    expect(c.reference).toBe('direct');
    expect(c.order).toEqual(['direct', 'slow']);
    expect(c.rounds.map((r) => r.results.map((x) => x.label))).toEqual([
      ['direct', 'slow'],
      ['direct', 'slow'],
    ]);
    expect(c.rounds.every((r) => r.ratios.length === 1 && r.ratios[0]!.label === 'slow')).toBe(true);
    expect(c.median).toHaveLength(1);
    // A 2 ms delay on an echo that otherwise answers in well under that: its median latency is higher.
    expect(c.median[0]!.p50).toBeGreaterThan(1);
    expect(report.assertions[0]).toMatchObject({ target: 'slow', pass: true });
  }, 30_000);

  it('writes an HTML report to --out and still prints the summary', async () => {
    const out = join(dir, 'report.html');
    const run = await bench(['--server', `node ${ECHO}`, '--tool', 'echo', '-n', '200', '--out', out, '-q']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Throughput and latency');
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it('exits 1 when an assertion fails and 0 when all hold', async () => {
    const withAsserts = (...asserts: string[]): ReturnType<typeof bench> =>
      bench([
        '--server',
        `node ${ECHO}`,
        '--tool',
        'echo',
        '-n',
        '50',
        '-q',
        ...asserts.flatMap((a) => ['--assert', a]),
      ]);
    const fail = await withAsserts('p99<0.001ms', 'error_rate<1%');
    expect(fail.code).toBe(1);
    expect(fail.stdout).toMatch(/FAIL p99<0\.001ms \[server\]/);
    expect(fail.stdout).toMatch(/PASS error_rate<1% \[server\]/);
    const pass = await withAsserts('error_rate<1%', 'mismatches==0');
    expect(pass.code).toBe(0);
  });
});

describe('command-line errors', () => {
  it('rejects bad input with exit 2, a clear message and the usage code, before starting anything', async () => {
    const run = await bench(['--server', `node ${ECHO}`, '--tool', 'echo', '--args', '{oops']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^toolgate bench: --args: not valid JSON .* \[TG_CLI_USAGE\]$/m);
    expect(run.stderr).not.toContain('load goes to');
    expect(run.stdout).toBe('');
  });

  it('prints help', async () => {
    const run = await bench(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: toolgate bench');
    expect(run.stdout).toContain('--rate R');
  });
});
