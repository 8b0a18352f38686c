import { isGatewayError } from '../errors.js';

/** A subcommand: takes its own argv (after the command name), returns the process exit code. */
export type Command = (argv: string[]) => Promise<number>;

interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

// Commands are loaded lazily so `toolgate check` does not pay for the gateway's imports and vice versa.
const COMMANDS: Record<string, CommandEntry> = {
  serve: {
    summary: 'run the gateway (HTTP face, or --stdio)',
    load: async () => (await import('./serve.js')).serveCommand,
  },
  config: {
    summary: 'validate a config file or print its JSON Schema',
    load: async () => (await import('./config.js')).configCommand,
  },
  check: {
    summary: 'grade any MCP server against the production checklist',
    load: async () => (await import('./check.js')).checkCommand,
  },
  bench: { summary: 'load-test an MCP server or gateway', load: async () => (await import('./bench.js')).benchCommand },
  keys: { summary: 'create, list and revoke API keys', load: async () => (await import('./keys.js')).keysCommand },
  audit: { summary: 'query or tail the audit log', load: async () => (await import('./audit.js')).auditCommand },
  tools: {
    summary: 'list tool pins and approve changed tools',
    load: async () => (await import('./tools.js')).toolsCommand,
  },
};

/** Usage text of the top-level command. */
export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return [
    'Usage: toolgate <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `toolgate <command> --help` for the options of a command.',
  ].join('\n');
}

/** Entry point of the `toolgate` binary. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    const { VERSION } = await import('../version.js');
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    process.stderr.write(`toolgate: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    const command = await entry.load();
    return await command(rest);
  } catch (err) {
    if (isGatewayError(err)) {
      process.stderr.write(`toolgate ${name}: ${err.message} [${err.code}]\n`);
      return err.code === 'TG_CLI_USAGE' ? 2 : 1;
    }
    throw err;
  }
}
