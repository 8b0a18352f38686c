import { GatewayError } from '../errors.js';
import type { AuditQuery, StoredAuditRecord } from '../state/store.js';
import { intOption, parseCommandArgs } from './args.js';
import { formatTime, subcommand, table, withStore } from './store-access.js';

const USAGE = `Usage:
  toolgate audit query [--principal P] [--tool T] [--outcome O] [--since 1h|30m|2d|ISO] [--limit N] [--json] [--config FILE]
  toolgate audit tail  [--principal P] [--tool T] [--outcome O] [--json] [--config FILE]

query prints matching records, newest first (default limit 100). tail prints the last 10 and then new records as
they arrive (every second) until interrupted. Outcomes: ok, tool_error, denied, limited, error.`;

const OUTCOMES = ['ok', 'tool_error', 'denied', 'limited', 'error'];
const POLL_MS = 1000;

/** Parses `--since`: `30m`, `2h`, `7d`, or an ISO date. */
export function parseSince(text: string | undefined, now: number = Date.now()): number | undefined {
  if (text === undefined) return undefined;
  const rel = /^(\d+)\s*(s|m|h|d)$/.exec(text);
  if (rel !== null)
    return now - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new GatewayError('TG_CLI_USAGE', `--since must be like 30m, 2h, 7d or an ISO date; got "${text}"`);
  return at;
}

function render(records: readonly StoredAuditRecord[], json: boolean): string {
  if (json) return records.map((r) => JSON.stringify(r)).join('\n');
  const rows = records.map((r) => [
    formatTime(r.ts),
    r.principal,
    r.tool,
    r.outcome + (r.errorCode !== null ? ` ${r.errorCode}` : ''),
    `${Math.round(r.durationMs)}ms`,
    r.correlationId,
    r.args,
  ]);
  return table([['TIME', 'PRINCIPAL', 'TOOL', 'OUTCOME', 'DURATION', 'CORRELATION', 'ARGUMENTS'], ...rows]);
}

/** `toolgate audit query|tail`. */
export async function auditCommand(argv: string[]): Promise<number> {
  const parsed = subcommand(argv, USAGE);
  if (typeof parsed === 'number') return parsed;
  const { sub, rest } = parsed;
  const { values } = parseCommandArgs(rest, {
    config: { type: 'string', short: 'c' },
    principal: { type: 'string' },
    tool: { type: 'string' },
    outcome: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.outcome !== undefined && !OUTCOMES.includes(values.outcome)) {
    throw new GatewayError('TG_CLI_USAGE', `--outcome must be one of ${OUTCOMES.join(', ')}`);
  }
  const base: Omit<AuditQuery, 'limit'> = {
    ...(values.principal === undefined ? {} : { principal: values.principal }),
    ...(values.tool === undefined ? {} : { tool: values.tool }),
    ...(values.outcome === undefined ? {} : { outcome: values.outcome }),
  };
  const since = parseSince(values.since);
  const json = values.json === true;
  if (sub === 'query') {
    const limit = intOption('limit', values.limit, 1, 100_000) ?? 100;
    const records = await withStore(values.config, (store) =>
      store.queryAudit({ ...base, ...(since === undefined ? {} : { since }), limit }),
    );
    if (records.length > 0) process.stdout.write(render(records, json) + '\n');
    else if (!json) process.stderr.write('no matching records\n');
    return 0;
  }
  if (sub === 'tail') {
    return withStore(values.config, async (store) => {
      const last = (await store.queryAudit({ ...base, limit: 10 })).reverse();
      if (last.length > 0) process.stdout.write(render(last, json) + '\n');
      let afterId = last.at(-1)?.id ?? 0;
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        while (!stop.signal.aborted) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          const fresh = await store.queryAudit({ ...base, afterId, newestFirst: false, limit: 1000 });
          if (fresh.length === 0) continue;
          afterId = fresh.at(-1)?.id ?? afterId;
          // Without --json, the header was printed with the first rows; later rows come without it.
          process.stdout.write(
            (json ? render(fresh, true) : render(fresh, false).split('\n').slice(1).join('\n')) + '\n',
          );
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      return 0;
    });
  }
  throw new GatewayError('TG_CLI_USAGE', `unknown subcommand "${sub}"\n${USAGE}`);
}
