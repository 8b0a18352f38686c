import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatProblems, loadConfigFile, type LoadedConfig } from '../config/load.js';
import { serveStdioFace } from '../edge/stdio-face.js';
import { GatewayError } from '../errors.js';
import { Gateway } from '../gateway.js';
import { createRedactor } from '../security/redactor.js';
import { createLogger, LOG_LEVELS } from '../telemetry/logger.js';
import { intOption, parseCommandArgs } from './args.js';

const USAGE = `Usage: toolgate serve [--config FILE | --demo] [options]

Options:
  --config FILE      configuration file (default ./toolgate.yaml)
  --demo             use the built-in demo configuration (examples/demo.yaml)
  --stdio            serve one MCP client on stdin/stdout instead of HTTP (desktop clients)
  --host HOST        override listen.host
  --port PORT        override listen.port (0 = any free port)
  --log-level LEVEL  override log.level (${LOG_LEVELS.join(', ')})
  -h, --help         show this help`;

/** Grace a stdio child gets after stdin closes (then SIGTERM) when our own client closed stdin. */
const STDIN_EOF_GRACE_MS = 300;

/** The packaged demo config. */
export const DEMO_CONFIG = fileURLToPath(new URL('../../examples/demo.yaml', import.meta.url));

/** `toolgate serve`: runs the gateway until SIGTERM/SIGINT (or stdin EOF with --stdio). */
export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    config: { type: 'string', short: 'c' },
    demo: { type: 'boolean' },
    stdio: { type: 'boolean' },
    host: { type: 'string' },
    port: { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (values.demo && values.config !== undefined)
    throw new GatewayError('TG_CLI_USAGE', 'use either --config or --demo');
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new GatewayError('TG_CLI_USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const port = intOption('port', values.port, 0, 65535);
  let file = values.demo ? DEMO_CONFIG : values.config;
  if (file === undefined) {
    if (!existsSync('toolgate.yaml')) {
      throw new GatewayError(
        'TG_CLI_USAGE',
        'no ./toolgate.yaml here: pass --config FILE, or --demo for the built-in demo',
      );
    }
    file = 'toolgate.yaml';
  }
  const loaded: LoadedConfig = await loadConfigFile(file);
  const cfg = loaded.config;
  if (values.host !== undefined) cfg.listen.host = values.host;
  if (port !== undefined) cfg.listen.port = port;
  if (level !== undefined) cfg.log.level = level as typeof cfg.log.level;
  // One redactor for logs, tool results and audit records (built before the logger so no line escapes it).
  const redactor = createRedactor({ config: cfg.redaction });
  const logger = createLogger({ level: cfg.log.level, ...(cfg.redaction.logs ? { redact: redactor.redactLine } : {}) });
  for (const w of loaded.warnings) logger.warn({ path: w.path, line: w.line, hint: w.hint }, `config: ${w.message}`);
  if (loaded.warnings.length > 0) process.stderr.write(`config warnings:\n${formatProblems(loaded.warnings)}\n`);

  const gateway = new Gateway({ config: loaded, logger, redactor, http: !values.stdio });
  let stopping = false;
  const done = new Promise<number>((resolve) => {
    // A stdio client that closes stdin is gone: its calls are cancelled at once (each still answered) and the
    // process exits promptly, as MCP hosts expect. Signals drain in-flight calls first.
    const stop = (signal: string, drainTimeoutMs?: number): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      // stdin EOF: the host is closing us; children get a short grace before SIGTERM so we exit promptly.
      gateway.stop(drainTimeoutMs === undefined ? {} : { drainTimeoutMs, upstreamGraceMs: STDIN_EOF_GRACE_MS }).then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    if (values.stdio) {
      void gateway.start().then(
        () =>
          serveStdioFace(gateway, {
            input: process.stdin,
            output: process.stdout,
            logger,
            onEnd: () => stop('stdin closed', 0),
          }),
        (err: unknown) => {
          logger.fatal({ err: (err as Error).message }, 'gateway failed to start');
          resolve(1);
        },
      );
    } else {
      gateway.start().catch((err: unknown) => {
        process.stderr.write(`toolgate serve: ${(err as Error).message}\n`);
        resolve(1);
      });
    }
  });
  return done;
}
