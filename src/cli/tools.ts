import { GatewayError } from '../errors.js';
import { approvedPin } from '../security/pins.js';
import { parseCommandArgs } from './args.js';
import { formatTime, printJson, subcommand, table, withStore } from './store-access.js';

const USAGE = `Usage:
  toolgate tools list [--pending] [--json] [--config FILE]
  toolgate tools approve NAME [--config FILE]

Tool pins: each upstream tool's fingerprint, recorded on first sight. A tool whose definition changed upstream
(with pinning.onChange: withhold) or that failed the poisoning screen (pinning.screen: withhold) is pending and
withheld until approved; a running gateway picks the approval up within pinning.pollIntervalMs.`;

/** `toolgate tools list|approve`. */
export async function toolsCommand(argv: string[]): Promise<number> {
  const parsed = subcommand(argv, USAGE);
  if (typeof parsed === 'number') return parsed;
  const { sub, rest } = parsed;
  const { values, positionals } = parseCommandArgs(
    rest,
    { config: { type: 'string', short: 'c' }, pending: { type: 'boolean' }, json: { type: 'boolean' } },
    true,
  );
  if (sub === 'list') {
    const pins = (await withStore(values.config, (store) => store.listPins()))
      .filter((p) => values.pending !== true || p.status === 'pending')
      .sort((a, b) => (a.exposedName < b.exposedName ? -1 : 1));
    if (values.json) return printJson(pins.map(({ definition: _d, ...p }) => p));
    const rows = pins.map((p) => [
      p.exposedName,
      p.status,
      p.fingerprint || '-',
      p.pendingFingerprint ?? '-',
      formatTime(p.updatedAt),
      p.reason ?? '',
    ]);
    process.stdout.write(table([['TOOL', 'STATUS', 'PINNED', 'PENDING', 'UPDATED', 'REASON'], ...rows]) + '\n');
    return 0;
  }
  if (sub === 'approve') {
    const name = positionals[0];
    if (name === undefined || positionals.length > 1)
      throw new GatewayError('TG_CLI_USAGE', 'tools approve needs one tool NAME (as listed by tools list)');
    return withStore(values.config, async (store) => {
      const pin = (await store.listPins()).find((p) => p.exposedName === name || `${p.upstream}/${p.tool}` === name);
      if (pin === undefined) {
        process.stderr.write(`no pinned tool named "${name}" (see toolgate tools list)\n`);
        return 1;
      }
      if (pin.status !== 'pending') {
        process.stdout.write(`${pin.exposedName} is already approved (${pin.fingerprint})\n`);
        return 0;
      }
      const approved = approvedPin(pin, Date.now());
      await store.upsertPin(approved);
      process.stdout.write(`approved ${pin.exposedName} at fingerprint ${approved.fingerprint}\n`);
      return 0;
    });
  }
  throw new GatewayError('TG_CLI_USAGE', `unknown subcommand "${sub}"\n${USAGE}`);
}
