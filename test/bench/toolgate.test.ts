import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchJson, CLI, ECHO, groupAlive, freePort } from './helpers.js';

// toolgate itself as a bench target: its HTTP face (both eras, legacy sessions) and its stdio face, fronting
// the bench echo server. Tool names are namespaced by the gateway: `echo` becomes `echo__echo`.

let dir: string;

/** A gateway config in front of the echo server started with `echoArgs`. */
function config(port: number, echoArgs: string[] = []): string {
  const file = join(dir, `toolgate-${port}-${echoArgs.length}.yaml`);
  const args = [ECHO, ...echoArgs].map((a) => JSON.stringify(a)).join(', ');
  writeFileSync(
    file,
    `listen:\n  host: 127.0.0.1\n  port: ${port}\nlog:\n  level: warn\nupstreams:\n  echo:\n    kind: stdio\n    command: ${JSON.stringify(process.execPath)}\n    args: [${args}]\n`,
  );
  return file;
}

/** Bench args that start toolgate on a free port in front of the echo server and load it over HTTP. */
async function viaGateway(echoArgs: string[] = []): Promise<string[]> {
  const port = await freePort();
  const serve = `${process.execPath} ${CLI} serve --config ${config(port, echoArgs)}`;
  return ['--url', `http://127.0.0.1:${port}/mcp`, '--start', serve, '--tool', 'echo__echo', '--args', '{"text":"hi"}'];
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'toolgate-bench-gw-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('toolgate bench against toolgate itself', () => {
  it('loads the HTTP face in the modern era and measures the gateway with its upstream child', async () => {
    const args = [...(await viaGateway()), '-n', '300', '-c', '6', '--assert', 'mismatches==0'];
    const { run, report } = await benchJson(args, { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const t = report.targets[0]!;
    expect(t).toMatchObject({ era: 'modern', protocolVersion: '2026-07-28' });
    expect(t.server).toMatch(/^toolgate /);
    expect(t.outcomes).toMatchObject({ total: 300, ok: 300 });
    expect(t.process?.maxProcesses).toBe(2); // the gateway and the echo server it supervises
    expect(groupAlive(t.process!.rootPid)).toBe(false);
  }, 60_000);

  it('loads the HTTP face in the legacy era over several sessions', async () => {
    const args = [...(await viaGateway()), '--era', 'legacy', '--sessions', '3', '-n', '300', '-c', '6'];
    const t = (await benchJson(args, { timeoutMs: 60_000 })).report.targets[0]!;
    expect(t).toMatchObject({ era: 'legacy', sessions: 3 });
    expect(t.outcomes).toMatchObject({ total: 300, ok: 300 });
    expect(t.correctness.mismatches).toBe(0);
  }, 60_000);

  it('loads the stdio face', async () => {
    const serve = `${process.execPath} ${CLI} serve --stdio --config ${config(await freePort())}`;
    const args = ['--server', serve, '--tool', 'echo__echo', '--args', '{"text":"hi"}', '-n', '300', '-c', '6'];
    const t = (await benchJson(args, { timeoutMs: 60_000 })).report.targets[0]!;
    expect(t.transport).toBe('stdio');
    expect(t.server).toMatch(/^toolgate /);
    expect(t.outcomes).toMatchObject({ total: 300, ok: 300 });
    expect(t.process?.maxProcesses).toBe(2);
  }, 60_000);

  it("counts exactly what the gateway makes of an upstream's failures: JSON-RPC errors become tool errors for the model", async () => {
    const n = 200;
    let toolErrors = 0;
    for (let i = 1; i <= n; i++) if (i % 5 === 0 || i % 4 === 0) toolErrors++;
    const args = [
      ...(await viaGateway(['--rpc-error-every', '5', '--tool-error-every', '4'])),
      '-n',
      String(n),
      '-c',
      '4',
    ];
    const t = (await benchJson(args, { timeoutMs: 60_000 })).report.targets[0]!;
    expect(t.outcomes).toMatchObject({ total: n, ok: n - toolErrors, toolErrors, rpcErrors: {}, timeouts: 0 });
  }, 60_000);
});
