import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ConfigProblem } from '../src/config/load.js';
import { configJsonSchema } from '../src/config/json-schema.js';
import { GatewayError } from '../src/errors.js';
import { ROOT, TOOLGATE_BIN } from './helpers/paths.js';

const run = promisify(execFile);

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): { code: string; problems: ConfigProblem[] } {
  try {
    parseConfig(yaml, { env });
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    const e = err as GatewayError;
    return { code: e.code, problems: (e.data?.['problems'] ?? []) as ConfigProblem[] };
  }
  throw new Error('expected the config to be rejected');
}

describe('config validation', () => {
  it.each([
    ['a mistyped key', 'listen:\n  prot: 80\n', 'listen', /did you mean "port"/],
    ['a wrong type', 'listen:\n  port: "eighty"\n', 'listen.port', /expected number/],
    ['a quoted number', 'listen:\n  port: "8080"\n', 'listen.port', /without quotes/],
    [
      'an unknown upstream kind',
      'upstreams:\n  a:\n    kind: stdoi\n    command: x\n',
      'upstreams.a.kind',
      /one of: stdio, http, local/,
    ],
    ['a missing command', 'upstreams:\n  a:\n    kind: stdio\n', 'upstreams.a.command', /missing required key/],
    ['a bad URL', 'upstreams:\n  a:\n    kind: http\n    url: not-a-url\n', 'upstreams.a.url', /./],
    ['an out-of-range port', 'listen:\n  port: 70000\n', 'listen.port', /./],
    ['a bad era', 'upstreams:\n  a:\n    kind: stdio\n    command: x\n    era: future\n', 'upstreams.a.era', /auto/],
    [
      'an upstream name with the separator',
      'upstreams:\n  a__b:\n    kind: stdio\n    command: x\n',
      'upstreams.a__b',
      /separator/,
    ],
    [
      'two upstreams with one namespace',
      'upstreams:\n  a:\n    kind: stdio\n    command: x\n  b:\n    kind: stdio\n    command: y\n    namespace: a\n',
      'upstreams.b.namespace',
      /already used/,
    ],
    ['a negative timeout', 'defaults:\n  timeoutMs: -5\n', 'defaults.timeoutMs', /./],
    ['a bad tool setting', 'tools:\n  "x__*":\n    timeoutMS: 5\n', 'tools.x__*', /did you mean "timeoutMs"/],
  ])('names the path of %s', (_what, yaml, path, message) => {
    const { code, problems } = problemsOf(yaml);
    expect(code).toBe('TG_CONFIG_INVALID');
    const p = problems.find((q) => q.path === path);
    expect(p, `problems: ${JSON.stringify(problems)}`).toBeDefined();
    expect(`${p?.message} ${p?.hint ?? ''}`).toMatch(message);
    expect(p?.line).toBeGreaterThan(0);
  });

  it('reports every problem at once, not just the first', () => {
    const { problems } = problemsOf('listen:\n  port: x\nsessions:\n  max: 0\nbogus: 1\n');
    expect(problems.map((p) => p.path).sort()).toEqual(['(root)', 'listen.port', 'sessions.max']);
  });

  it('reports YAML syntax errors with their line', () => {
    const { problems } = problemsOf('listen:\n  port: [\n');
    expect(problems[0]).toMatchObject({ path: '(file)' });
    expect(problems[0]?.line).toBeGreaterThan(0);
  });

  it('interpolates ${VAR} from the environment, with defaults and $$ escapes', () => {
    const { config } = parseConfig(
      'upstreams:\n  a:\n    kind: http\n    url: ${UP_URL}\n    headers:\n      Authorization: Bearer ${UP_TOKEN}\n      X-Price: $$5\n      X-Region: ${REGION:-eu}\n',
      { env: { UP_URL: 'https://up.example/mcp', UP_TOKEN: 's3cret' } },
    );
    const up = config.upstreams['a'];
    expect(up?.kind === 'http' && up.url).toBe('https://up.example/mcp');
    expect(up?.kind === 'http' && up.headers).toEqual({
      Authorization: 'Bearer s3cret',
      'X-Price': '$5',
      'X-Region': 'eu',
    });
  });

  it('names a missing environment variable and where it is used', () => {
    const { code, problems } = problemsOf('upstreams:\n  a:\n    kind: http\n    url: ${MISSING_UPSTREAM_URL}\n');
    expect(code).toBe('TG_CONFIG_ENV_MISSING');
    expect(problems[0]).toMatchObject({
      path: 'upstreams.a.url',
      message: 'environment variable MISSING_UPSTREAM_URL is not set',
      line: 4,
    });
  });

  it('warns about a literal secret and applies defaults', () => {
    const loaded = parseConfig(
      'upstreams:\n  a:\n    kind: stdio\n    command: x\n    env:\n      GITHUB_TOKEN: ghp_literal\n',
    );
    expect(loaded.warnings[0]).toMatchObject({ path: 'upstreams.a.env.GITHUB_TOKEN' });
    expect(loaded.config.listen).toMatchObject({ host: '127.0.0.1', port: 8848, path: '/mcp' });
    const a = loaded.config.upstreams['a'];
    expect(a?.kind === 'stdio' && a.restart.maxAttempts).toBe(5);
  });

  it('exports a JSON Schema that documents its keys', () => {
    const schema = configJsonSchema() as { properties: Record<string, { description?: string }> };
    expect(schema.properties['upstreams']?.description).toMatch(/Upstream/);
    expect(JSON.stringify(schema)).toContain('Time limit of one tool call');
  });
});

describe('toolgate config (CLI)', () => {
  it('validates the demo config', async () => {
    const { stdout } = await run(process.execPath, [
      TOOLGATE_BIN,
      'config',
      'validate',
      join(ROOT, 'examples/demo.yaml'),
    ]);
    expect(stdout).toMatch(/valid \(2 upstreams\)/);
  });

  it('exits 1 with every problem listed for a bad file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'listen:\n  prot: 1\nupstreams:\n  x:\n    kind: http\n');
    const err = (await run(process.execPath, [TOOLGATE_BIN, 'config', 'validate', file]).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('listen (line 2): unknown key "prot"');
    expect(err.stderr).toContain('upstreams.x.url');
    expect(err.stderr).toContain('TG_CONFIG_INVALID');
  });

  it('refuses to serve a bad config and names the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'upstreams:\n  x:\n    kind: http\n    url: ${NOT_SET_ANYWHERE_42}\n');
    const err = (await run(process.execPath, [TOOLGATE_BIN, 'serve', '--config', file], { timeout: 10_000 }).catch(
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('NOT_SET_ANYWHERE_42');
    expect(err.stderr).toContain('TG_CONFIG_ENV_MISSING');
  });

  it('prints the JSON Schema', async () => {
    const { stdout } = await run(process.execPath, [TOOLGATE_BIN, 'config', 'schema']);
    expect(JSON.parse(stdout)).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
    });
  });

  it('rejects unknown options with a usage error (exit 2)', async () => {
    const err = (await run(process.execPath, [TOOLGATE_BIN, 'serve', '--bogus']).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('bogus');
  });
});
