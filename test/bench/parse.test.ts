import { describe, expect, it } from 'vitest';
import {
  formatMs,
  parseDuration,
  parsePositiveInt,
  parseRate,
  splitCommandLine,
  splitLabel,
} from '../../src/bench/parse.js';
import { encodeHeaderValue, isLoopbackUrl } from '../../src/bench/http-target.js';
import { bodyMessages, parseSseMessages } from '../../src/bench/sse.js';

describe('bench value parsers', () => {
  it('parses durations with units, a bare number in the default unit', () => {
    expect(parseDuration('250ms', '--timeout')).toBe(250);
    expect(parseDuration('30s', '--timeout')).toBe(30_000);
    expect(parseDuration('1.5s', '--timeout')).toBe(1500);
    expect(parseDuration('2m', '--duration')).toBe(120_000);
    expect(parseDuration('10', '--duration')).toBe(10_000);
    expect(parseDuration('10', '--x', 'ms')).toBe(10);
  });

  it('rejects bad durations with a usage error naming the flag', () => {
    expect(() => parseDuration('soon', '--timeout')).toThrow(/--timeout: "soon" is not a duration/);
    expect(() => parseDuration('0s', '--timeout')).toThrow(/greater than zero/);
    try {
      parseDuration('x', '--duration');
    } catch (err) {
      expect((err as { code: string }).code).toBe('TG_CLI_USAGE');
    }
  });

  it('parses rates per second and per minute', () => {
    expect(parseRate('200', '--rate')).toBe(200);
    expect(parseRate('200/s', '--rate')).toBe(200);
    expect(parseRate('120/m', '--rate')).toBe(2);
    expect(() => parseRate('fast', '--rate')).toThrow(/not a rate/);
    expect(() => parseRate('0', '--rate')).toThrow(/greater than zero/);
  });

  it('bounds whole numbers', () => {
    expect(parsePositiveInt('10', '-c', 100)).toBe(10);
    expect(parsePositiveInt('0', '--warmup', 100, true)).toBe(0);
    expect(() => parsePositiveInt('0', '-c', 100)).toThrow(/between 1 and 100/);
    expect(() => parsePositiveInt('101', '-c', 100)).toThrow(/between 1 and 100/);
    expect(() => parsePositiveInt('1.5', '-c', 100)).toThrow(/not a whole number/);
  });

  it('splits command lines like a shell does for plain words, without expanding anything', () => {
    expect(splitCommandLine('npx @modelcontextprotocol/server-filesystem /tmp/x')).toEqual([
      'npx',
      '@modelcontextprotocol/server-filesystem',
      '/tmp/x',
    ]);
    expect(splitCommandLine(`node  -e 'console.log("a b")'`)).toEqual(['node', '-e', 'console.log("a b")']);
    expect(splitCommandLine('say "hello \\"you\\"" a\\ b $HOME')).toEqual(['say', 'hello "you"', 'a b', '$HOME']);
    expect(splitCommandLine(`x '' ""`)).toEqual(['x', '', '']);
    expect(splitCommandLine('   ')).toEqual([]);
    expect(() => splitCommandLine('node "unterminated')).toThrow(/unterminated " quote/);
  });

  it('splits NAME=VALUE labels and leaves commands with = alone', () => {
    expect(splitLabel('direct=node echo.mjs')).toEqual({ label: 'direct', value: 'node echo.mjs' });
    expect(splitLabel('gw=http://127.0.0.1:8848/mcp?a=b')).toEqual({
      label: 'gw',
      value: 'http://127.0.0.1:8848/mcp?a=b',
    });
    expect(splitLabel('node echo.mjs --x=1')).toBeUndefined();
    expect(splitLabel('/usr/bin/node')).toBeUndefined();
  });

  it('formats milliseconds for humans', () => {
    expect(formatMs(0.85)).toBe('850µs');
    expect(formatMs(12.34)).toBe('12.3ms');
    expect(formatMs(3.456)).toBe('3.46ms');
    expect(formatMs(1520)).toBe('1520ms');
    expect(formatMs(15_200)).toBe('15.20s');
    expect(formatMs(Number.NaN)).toBe('–');
  });
});

describe('HTTP details', () => {
  it('encodes header values that are not plain visible ASCII with the base64 sentinel', () => {
    expect(encodeHeaderValue('read_text_file')).toBe('read_text_file');
    expect(encodeHeaderValue('file:///a b.txt')).toBe('file:///a b.txt');
    expect(encodeHeaderValue('grüße')).toBe(`=?base64?${Buffer.from('grüße').toString('base64')}?=`);
    expect(encodeHeaderValue(' padded')).toMatch(/^=\?base64\?/);
    expect(encodeHeaderValue('line\nbreak')).toMatch(/^=\?base64\?/);
  });

  it('knows loopback hosts from remote ones', () => {
    expect(isLoopbackUrl(new URL('http://127.0.0.1:1/mcp'))).toBe(true);
    expect(isLoopbackUrl(new URL('http://localhost/mcp'))).toBe(true);
    expect(isLoopbackUrl(new URL('http://[::1]:8080/mcp'))).toBe(true);
    expect(isLoopbackUrl(new URL('https://tools.example.com/mcp'))).toBe(false);
  });

  it('reads JSON-RPC messages from SSE bodies, skipping priming events and comments', () => {
    const body = [
      'id: 1',
      'data: ',
      '',
      ': keep-alive',
      'event: message',
      'data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}',
      '',
      'event: message',
      'data: {"jsonrpc":"2.0",',
      'data: "id":7,"result":{}}',
      '',
    ].join('\r\n');
    const { messages, badEvents } = parseSseMessages(body);
    expect(badEvents).toBe(0);
    expect(messages).toEqual([
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } },
      { jsonrpc: '2.0', id: 7, result: {} },
    ]);
  });

  it('counts unparseable SSE events and reads plain JSON bodies by content type', () => {
    expect(parseSseMessages('data: {oops\n\n').badEvents).toBe(1);
    expect(bodyMessages('application/json', '{"jsonrpc":"2.0","id":1,"result":{}}').messages).toHaveLength(1);
    expect(bodyMessages('text/event-stream; charset=utf-8', 'data: {"a":1}\n\n').messages).toEqual([{ a: 1 }]);
    expect(bodyMessages(undefined, '').messages).toEqual([]);
    expect(() => bodyMessages('application/json', 'not json')).toThrow();
  });
});
