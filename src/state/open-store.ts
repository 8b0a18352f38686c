import { resolve } from 'node:path';
import type { StoreConfig } from '../config/security.js';
import { GatewayError } from '../errors.js';
import { PostgresDriver } from './postgres.js';
import { SqlStore } from './sql-store.js';
import { SqliteDriver } from './sqlite.js';
import { MemoryStore, type Store } from './store.js';

/** Default SQLite file name, next to the config file. */
export const DEFAULT_SQLITE_FILE = 'toolgate.db';

/** Where the store of a config lives: `memory` when the config is not a file and no path is given. */
export function storeLocation(
  cfg: StoreConfig,
  configFile: string | undefined,
  dir: string,
): { kind: Store['kind']; target: string } {
  if (cfg.kind === 'postgres') {
    if (cfg.url === undefined)
      throw new GatewayError('TG_CONFIG_INVALID', 'store.url is required with store.kind: postgres');
    return { kind: 'postgres', target: cfg.url };
  }
  if (cfg.kind === 'memory' || (configFile === undefined && cfg.path === undefined))
    return { kind: 'memory', target: '(memory)' };
  return { kind: 'sqlite', target: resolve(dir, cfg.path ?? DEFAULT_SQLITE_FILE) };
}

/** Opens (and initialises) the store a config names. */
export async function openStore(cfg: StoreConfig, configFile: string | undefined, dir: string): Promise<Store> {
  const where = storeLocation(cfg, configFile, dir);
  const store: Store =
    where.kind === 'memory'
      ? new MemoryStore()
      : new SqlStore(
          where.kind === 'postgres'
            ? new PostgresDriver(where.target)
            : new SqliteDriver(where.target, { worker: cfg.worker }),
        );
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => {});
    throw new GatewayError(
      'TG_STORE_UNAVAILABLE',
      `cannot initialise the ${where.kind} store: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return store;
}
