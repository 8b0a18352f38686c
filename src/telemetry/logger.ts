import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Log levels accepted in config and on the command line. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Options of `createLogger`. */
export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Base fields on every line (e.g. `{ component: 'check' }`). */
  base?: Record<string, unknown>;
  /** Destination file descriptor; always stderr (2) unless a test needs otherwise. stdout is reserved for JSON-RPC. */
  fd?: number;
  /** Rewrites each serialised line before it is written (the gateway's redactor: secrets never reach logs). */
  redact?: (line: string) => string;
}

/** Default level: `TOOLGATE_LOG_LEVEL` or `info`. */
export function defaultLogLevel(): LevelWithSilent {
  const env = process.env['TOOLGATE_LOG_LEVEL'];
  return (LOG_LEVELS as readonly string[]).includes(env ?? '') ? (env as LevelWithSilent) : 'info';
}

/**
 * Creates the JSON logger. Lines go to stderr: on a stdio face stdout carries only JSON-RPC.
 * Synchronous writes keep log order with process exit and cost little at info level.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? defaultLogLevel(),
      base: { ...(options.base ?? {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      ...(options.redact === undefined ? {} : { hooks: { streamWrite: options.redact } }),
    },
    pino.destination({ fd: options.fd ?? 2, sync: true }),
  );
}
