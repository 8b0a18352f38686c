import { ApiKeyService, parseExpiry } from '../auth/api-keys.js';
import { GatewayError } from '../errors.js';
import { parseCommandArgs } from './args.js';
import { formatTime, printJson, subcommand, table, withStore } from './store-access.js';

const USAGE = `Usage:
  toolgate keys create --name NAME [--scopes "a b"] [--expires 30d|12h|ISO|never] [--config FILE]
  toolgate keys list [--json] [--config FILE]
  toolgate keys revoke ID|NAME [--config FILE]

API keys for machine clients. The key is printed once at creation; only its hash is stored.
Clients send it as "Authorization: Bearer tgk_…" or in the X-API-Key header (auth.apiKeys must be enabled).`;

/** `toolgate keys create|list|revoke`. */
export async function keysCommand(argv: string[]): Promise<number> {
  const parsed = subcommand(argv, USAGE);
  if (typeof parsed === 'number') return parsed;
  const { sub, rest } = parsed;
  const { values, positionals } = parseCommandArgs(
    rest,
    {
      config: { type: 'string', short: 'c' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      expires: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  switch (sub) {
    case 'create': {
      if (values.name === undefined) throw new GatewayError('TG_CLI_USAGE', 'keys create needs --name');
      const scopes = (values.scopes ?? '').split(/[\s,]+/).filter((s) => s !== '');
      const expiresAt = parseExpiry(values.expires);
      const name = values.name;
      const created = await withStore(values.config, (store) =>
        new ApiKeyService({ store: () => store }).create(name, scopes, expiresAt),
      );
      process.stdout.write(`${created.key}\n`);
      process.stderr.write(
        `key "${name}" created (id ${created.id}, scopes: ${scopes.join(' ') || '(none)'}, expires: ${formatTime(expiresAt)}).\nStore it now: it is not shown again.\n`,
      );
      return 0;
    }
    case 'list': {
      const keys = await withStore(values.config, (store) => store.listKeys());
      if (values.json) return printJson(keys.map(({ hash: _h, ...k }) => k));
      const now = Date.now();
      const rows = keys.map((k) => [
        k.id,
        k.name,
        k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : 'active',
        k.scopes.join(' ') || '-',
        formatTime(k.createdAt),
        formatTime(k.expiresAt),
        formatTime(k.lastUsedAt),
      ]);
      process.stdout.write(
        table([['ID', 'NAME', 'STATUS', 'SCOPES', 'CREATED', 'EXPIRES', 'LAST USED'], ...rows]) + '\n',
      );
      return 0;
    }
    case 'revoke': {
      const target = positionals[0];
      if (target === undefined || positionals.length > 1)
        throw new GatewayError('TG_CLI_USAGE', 'keys revoke needs one ID or NAME');
      const n = await withStore(values.config, (store) => store.revokeKey(target, Date.now()));
      if (n === 0) {
        process.stderr.write(`no active key with id or name "${target}"\n`);
        return 1;
      }
      process.stdout.write(
        `revoked ${n} key${n === 1 ? '' : 's'} (running gateways stop accepting it within auth.apiKeys.cacheTtlMs)\n`,
      );
      return 0;
    }
    default:
      throw new GatewayError('TG_CLI_USAGE', `unknown subcommand "${sub}"\n${USAGE}`);
  }
}
