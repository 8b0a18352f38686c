import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { openStore } from '../state/open-store.js';
import type { Store } from '../state/store.js';

/** Opens the store a config file names, for the admin commands (keys, audit, tools). */
export async function openConfiguredStore(file: string | undefined): Promise<{ store: Store; config: Config }> {
  const loaded = await loadConfigFile(file ?? 'toolgate.yaml');
  const store = await openStore(loaded.config.store, loaded.file, loaded.dir);
  if (store.kind === 'memory') {
    await store.close();
    throw new GatewayError(
      'TG_CLI_USAGE',
      'store.kind is memory: nothing is kept between processes, so there is nothing to administer',
    );
  }
  return { store, config: loaded.config };
}

/** Runs `fn` with the configured store and always closes it. */
export async function withStore<T>(
  file: string | undefined,
  fn: (store: Store, config: Config) => Promise<T>,
): Promise<T> {
  const { store, config } = await openConfiguredStore(file);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

/** `2026-11-22 04:05:01` (UTC) or `-`. */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** Pads columns of a table of strings (first row is the header). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

/** Prints a value as indented JSON on stdout; returns exit code 0. */
export function printJson(value: unknown): number {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  return 0;
}

/**
 * Splits `<subcommand> ...rest`. Without one, or with --help, prints the usage and returns the exit code
 * (2 when the subcommand is missing, 0 for help).
 */
export function subcommand(argv: string[], usage: string): { sub: string; rest: string[] } | number {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(usage + '\n');
    return sub === undefined ? 2 : 0;
  }
  return { sub, rest };
}
