import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';

/**
 * The official MCP conformance suite, through toolgate and against our fixture directly (conformance/run.mjs).
 * The suite lives in its own package (conformance/); `npm test` installs it when missing, so a missing install is a
 * failure, never a silent skip.
 */
const SUITE = join(ROOT, 'conformance/node_modules/@modelcontextprotocol/conformance/package.json');
const RUNNER = join(ROOT, 'conformance/run.mjs');
const RUN_TIMEOUT_MS = 150_000;
const installed = existsSync(SUITE);
const NOT_INSTALLED =
  'conformance/ is not installed: `npm test` installs it (scripts/prepare-test.mjs), or run `npm install --prefix conformance`';

interface Outcome {
  ok: boolean;
  passed: number;
  failed: number;
  problems: string[];
}
interface Summary {
  suiteVersion: string;
  ok: boolean;
  problems: string[];
  scenarios: Array<{
    scenario: string;
    direct: Outcome | null;
    toolgate: Outcome | null;
    expectedFailure: boolean;
    verdict: string;
    payload: string;
  }>;
}

function run(outDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, '--out', outDir, '--timeout-ms', String(RUN_TIMEOUT_MS - 10_000)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    // run.mjs bounds itself; this is the backstop (SIGTERM lets it stop what it started).
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('official MCP conformance suite', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'toolgate-conformance-test-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it(
    'passes through toolgate every scenario the fixture passes directly, except the documented exceptions',
    async () => {
      if (!installed) throw new Error(NOT_INSTALLED);
      const { code, output } = await run(outDir);
      expect(code, output).toBe(0);

      const summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as Summary;
      expect(summary.suiteVersion).toBe('0.1.13');
      expect(summary.problems).toEqual([]);
      // 30 active scenarios of 0.1.13, plus json-schema-2020-12
      expect(summary.scenarios.length).toBeGreaterThanOrEqual(31);
      for (const s of summary.scenarios) {
        expect(s.direct?.ok, `${s.scenario} directly: ${s.direct?.problems.join('; ')}`).toBe(true);
        expect(
          s.toolgate?.ok === true || s.expectedFailure,
          `${s.scenario} through toolgate: ${s.toolgate?.problems.join('; ')}`,
        ).toBe(true);
      }
      // The payload comparison ran (the suite's own checks are too loose to trust alone).
      expect(summary.scenarios.filter((s) => s.payload === 'same').length).toBeGreaterThanOrEqual(25);
      const names = summary.scenarios.map((s) => s.scenario);
      for (const required of [
        'tools-call-sampling',
        'tools-call-elicitation',
        'tools-call-with-progress',
        'resources-subscribe',
        'dns-rebinding-protection',
      ]) {
        expect(names).toContain(required);
      }

      // Every exception is explained in the docs.
      const listed = ((
        parseYaml(readFileSync(join(ROOT, 'conformance/expected-failures.yml'), 'utf8')) as { server?: string[] } | null
      )?.server ?? []) as string[];
      const docs = readFileSync(join(ROOT, 'docs/conformance.md'), 'utf8');
      for (const name of listed) expect(docs, `docs/conformance.md must explain ${name}`).toContain(name);
    },
    RUN_TIMEOUT_MS + 10_000,
  );
});
