import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GatewayError } from '../errors.js';

/** Parses a command's options strictly; unknown options and bad values are usage errors (exit 2). */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals = false,
): {
  values: ReturnType<
    typeof parseArgs<{ options: T; allowPositionals: boolean; strict: true; args: string[] }>
  >['values'];
  positionals: string[];
} {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: r.values, positionals: r.positionals };
  } catch (err) {
    throw new GatewayError('TG_CLI_USAGE', (err as Error).message, { cause: err });
  }
}

/** Parses a non-negative integer option, or fails with a usage error naming it. */
export function intOption(
  name: string,
  value: string | undefined,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new GatewayError('TG_CLI_USAGE', `--${name} must be an integer between ${min} and ${max}, got "${value}"`);
  }
  return n;
}
