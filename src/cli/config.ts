import { configJsonSchema } from '../config/json-schema.js';
import { formatProblems, loadConfigFile } from '../config/load.js';
import { GatewayError, isGatewayError } from '../errors.js';
import { parseCommandArgs } from './args.js';

const USAGE = `Usage:
  toolgate config validate [file]   check a config file (default ./toolgate.yaml); exit 1 on any problem
  toolgate config schema            print the JSON Schema of toolgate.yaml (for editors)`;

/** `toolgate config validate|schema`. */
export async function configCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(USAGE + '\n');
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'schema') {
    parseCommandArgs(rest, {});
    process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
    return 0;
  }
  if (sub === 'validate') {
    const { positionals } = parseCommandArgs(rest, {}, true);
    if (positionals.length > 1) throw new GatewayError('TG_CLI_USAGE', 'validate takes at most one file');
    const file = positionals[0] ?? 'toolgate.yaml';
    try {
      const loaded = await loadConfigFile(file);
      if (loaded.warnings.length > 0) process.stderr.write(`warnings:\n${formatProblems(loaded.warnings)}\n`);
      const n = Object.keys(loaded.config.upstreams).length;
      process.stdout.write(`${loaded.file ?? file}: valid (${n} upstream${n === 1 ? '' : 's'})\n`);
      return 0;
    } catch (err) {
      if (isGatewayError(err)) {
        process.stderr.write(`${err.message}\n[${err.code}]\n`);
        return 1;
      }
      throw err;
    }
  }
  throw new GatewayError('TG_CLI_USAGE', `unknown subcommand "${sub}"\n${USAGE}`);
}
