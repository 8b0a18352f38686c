import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../src/cli/bench.js';

async function usageError(args: string[]): Promise<string> {
  try {
    await parseBenchArgs(args);
  } catch (err) {
    expect((err as { code?: string }).code).toBe('TG_CLI_USAGE');
    return (err as Error).message;
  }
  throw new Error(`accepted: ${args.join(' ')}`);
}

describe('toolgate bench command line', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['no target', ['-n', '10'], /give a target: --server/],
    ['a bare positional', ['node', 'server.js'], /unexpected argument "node"/],
    ['bad --args JSON', ['--server', 'node x', '--tool', 'echo', '--args', '{oops'], /--args: not valid JSON/],
    [
      '--args that is not an object',
      ['--server', 'node x', '--tool', 'echo', '--args', '[1]'],
      /must be a JSON object/,
    ],
    ['--args without a tool', ['--server', 'node x', '--args', '{}'], /--args needs --tool NAME/],
    ['--mix with --tool', ['--server', 'node x', '--mix', 'm.yaml', '--tool', 'echo'], /--mix replaces --tool/],
    [
      'a missing mix file',
      ['--server', 'node x', '--mix', '/nonexistent/mix.yaml'],
      /--mix \/nonexistent\/mix.yaml: cannot read the file \(ENOENT\)/,
    ],
    ['--method tools/call', ['--server', 'node x', '--method', 'tools/call'], /use --tool NAME/],
    ['an unknown era', ['--server', 'node x', '--era', 'old'], /--era: "old" is not auto, legacy or modern/],
    ['--compare with one target', ['--server', 'node x', '--compare'], /--compare needs at least two targets/],
    ['several targets without --compare', ['--server', 'node x', '--url', 'http://127.0.0.1:1/mcp'], /add --compare/],
    ['--rounds without --compare', ['--server', 'node x', '--rounds', '3'], /--rounds only applies with --compare/],
    [
      'a target named twice',
      ['--compare', '--target', 'a=node x', '--target', 'a=node y'],
      /the name "a" is used twice/,
    ],
    [
      'a target without a name',
      ['--compare', '--target', 'node x', '--target', 'b=node y'],
      /expected NAME=<command or URL>/,
    ],
    ['an unknown assertion metric', ['--server', 'node x', '--assert', 'speed>1'], /unknown metric "speed"/],
    ['an unknown flag', ['--server', 'node x', '--turbo'], /Unknown option '--turbo'/],
    ['a non-http URL', ['--url', 'ftp://example.com/mcp'], /not an http\(s\) URL/],
    ['--sessions on a stdio target', ['--server', 'node x', '--sessions', '3'], /--sessions applies to HTTP targets/],
    ['a zero concurrency', ['--server', 'node x', '-c', '0'], /--concurrent: must be between 1 and 10000/],
    ['a huge request count', ['--server', 'node x', '-n', '1000000000'], /--requests: must be between 1 and 100000000/],
    ['a bad duration', ['--server', 'node x', '-d', 'forever'], /--duration: "forever" is not a duration/],
    ['a bad rate', ['--server', 'node x', '--rate', 'fast'], /--rate: "fast" is not a rate/],
    [
      '--start for a stdio target',
      ['--server', 'node x', '--start', 'node y'],
      /stdio server \(bench starts those itself\)/,
    ],
    [
      '--start without a name among several',
      ['--compare', '--url', 'http://127.0.0.1:1/mcp', '--url', 'http://127.0.0.1:2/mcp', '--start', 'node y'],
      /write --start NAME=/,
    ],
    ['a bad pid', ['--server', 'node x', '--pid', 'abc'], /--pid: "abc" is not a whole number/],
    ['a bad header', ['--url', 'http://127.0.0.1:1/mcp', '--header', 'no colon'], /--header: expected "Name: value"/],
    ['an unknown format', ['--server', 'node x', '--format', 'pdf'], /--format: "pdf" is not one of/],
    ['an empty command', ['--server', '  '], /--server: empty command/],
    ['an unterminated quote', ['--server', 'node "x'], /unterminated " quote/],
  ];
  for (const [name, args, message] of cases) {
    it(`rejects ${name}`, async () => {
      expect(await usageError(args)).toMatch(message);
    });
  }

  it('defaults to tools/list, 10 concurrent, 1000 requests, 30 s timeouts and a 10 minute bound', async () => {
    const parsed = await parseBenchArgs(['--server', 'npx @modelcontextprotocol/server-filesystem /tmp/x']);
    if (parsed === 'help') throw new Error('help');
    expect(parsed.options.targets).toEqual([
      { label: 'server', argv: ['npx', '@modelcontextprotocol/server-filesystem', '/tmp/x'] },
    ]);
    expect(parsed.options.plan).toEqual({
      concurrency: 10,
      requests: 1000,
      durationMs: undefined,
      warmup: 0,
      ratePerSec: undefined,
      timeoutMs: 30_000,
      timeLimitMs: 600_000,
    });
    expect(parsed.options.operations).toEqual([{ label: 'tools/list', method: 'tools/list', weight: 1, argSets: [] }]);
    expect(parsed.notes[0]).toMatch(/benchmarking tools\/list/);
    expect(parsed.format).toBe('text');
    expect(parsed.outputs).toEqual([]);
    expect(parsed.options.rounds).toBe(1);
  });

  it('keeps targets in command-line order, attaches --start/--pid by name and infers each --out format from its extension', async () => {
    const parsed = await parseBenchArgs([
      '--compare',
      '--target',
      'direct=node echo.mjs',
      '--target',
      'gw=http://127.0.0.1:8848/mcp',
      '--start',
      'gw=node bin/toolgate.js serve --config "my config.yaml"',
      '--pid',
      'direct=4242',
      '-d',
      '20s',
      '--rate',
      '600/m',
      '--header',
      'Authorization: Bearer abc',
      '--out',
      'report.md',
      '--out',
      'report.json',
      '--out',
      'report.txt',
      '--format',
      'html',
    ]);
    if (parsed === 'help') throw new Error('help');
    expect(parsed.options.targets).toEqual([
      { label: 'direct', argv: ['node', 'echo.mjs'], pid: 4242 },
      {
        label: 'gw',
        url: 'http://127.0.0.1:8848/mcp',
        start: ['node', 'bin/toolgate.js', 'serve', '--config', 'my config.yaml'],
      },
    ]);
    expect(parsed.options.rounds).toBe(5);
    expect(parsed.options.plan).toMatchObject({
      requests: undefined,
      durationMs: 20_000,
      ratePerSec: 10,
      timeLimitMs: 100_000,
    });
    expect(parsed.options.headers).toEqual({ authorization: 'Bearer abc' });
    expect(parsed.outputs).toEqual([
      { file: 'report.md', format: 'markdown' },
      { file: 'report.json', format: 'json' },
      { file: 'report.txt', format: 'html' },
    ]);
  });
});
