/**
 * Parsers for bench's command-line values: durations, rates, byte-free command lines. Each throws a
 * `GatewayError('TG_CLI_USAGE')` naming the flag and the accepted forms, so a typo never starts a run.
 */
import { GatewayError } from '../errors.js';

const DURATION_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function usage(message: string): GatewayError {
  return new GatewayError('TG_CLI_USAGE', message);
}

/** Parses `250ms`, `30s`, `2m`, `1h`, `1.5s` (a bare number is `defaultUnit`) into milliseconds. */
export function parseDuration(text: string, flag: string, defaultUnit: 'ms' | 's' = 's'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|h)?\s*$/.exec(text);
  if (m === null) throw usage(`${flag}: "${text}" is not a duration (examples: 500ms, 30s, 2m)`);
  const value = Number(m[1]) * DURATION_UNITS_MS[m[2] ?? defaultUnit]!;
  if (!(value > 0)) throw usage(`${flag}: the duration must be greater than zero`);
  return value;
}

/** Parses a request rate: `200`, `200/s`, `1200/m` → requests per second. */
export function parseRate(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min))?\s*$/.exec(text);
  if (m === null) throw usage(`${flag}: "${text}" is not a rate (examples: 200, 200/s, 1200/m)`);
  const perUnit = Number(m[1]);
  const perSecond = m[2] === 'm' || m[2] === 'min' ? perUnit / 60 : perUnit;
  if (!(perSecond > 0)) throw usage(`${flag}: the rate must be greater than zero`);
  return perSecond;
}

/** Parses a positive integer flag value, with an upper bound to keep every run finite. */
export function parsePositiveInt(text: string, flag: string, max: number, allowZero = false): number {
  if (!/^\s*\d+\s*$/.test(text)) throw usage(`${flag}: "${text}" is not a whole number`);
  const n = Number(text);
  if (n > max || (n === 0 && !allowZero))
    throw usage(`${flag}: must be between ${allowZero ? 0 : 1} and ${max}, got ${n}`);
  return n;
}

/**
 * Splits a command line into argv the way a POSIX shell would for plain words: whitespace separates, single
 * quotes are literal, double quotes allow `\"` and `\\`, a backslash outside quotes escapes the next character.
 * No expansion happens (no globs, variables or pipes): the command is spawned directly, never through a shell.
 */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) current += line[++i]!;
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      current += line[++i]!;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote !== undefined) throw usage(`unterminated ${quote} quote in command: ${line}`);
  if (inWord) args.push(current);
  return args;
}

/** Splits `NAME=VALUE` (NAME: letters, digits, `-`, `_`, `.`); returns undefined when there is no such prefix. */
export function splitLabel(text: string): { label: string; value: string } | undefined {
  const m = /^([A-Za-z][\w.-]{0,39})=(.+)$/s.exec(text);
  return m === null ? undefined : { label: m[1]!, value: m[2]! };
}

/** Formats milliseconds for humans: `850µs`, `12.3ms`, `1.52s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 100) return `${ms.toFixed(ms < 10 ? 2 : 1)}ms`;
  if (ms < 10_000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}
