import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { INLINE_BUSY_TIMEOUT_MS, SqliteEngine, type SqliteOps } from './sqlite-engine.js';
import type { SqliteReply, SqliteRequest } from './sqlite-worker.js';
import type { SqlDriver, SqlValue } from './sql-store.js';

const WORKER_FILE = fileURLToPath(new URL('./sqlite-worker.js', import.meta.url));

/**
 * The SQLite driver: the WASM engine runs in a worker thread (its synchronous calls — an audit batch is a few
 * milliseconds, or a wait for another process's lock — never block the gateway's event loop, and use a second core
 * when there is one). With `worker: false`, or when the worker script is not there (running from TypeScript
 * sources in tests), the engine runs in-process instead.
 */
export class SqliteDriver implements SqlDriver {
  readonly kind = 'sqlite' as const;
  readonly serialPrimaryKey = 'INTEGER PRIMARY KEY AUTOINCREMENT';
  private readonly worker: Worker | undefined;
  private readonly engine: SqliteEngine | undefined;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed: Promise<void> | undefined;

  constructor(
    readonly file: string,
    options: { worker?: boolean } = {},
  ) {
    if (options.worker !== false && existsSync(WORKER_FILE)) {
      this.worker = new Worker(WORKER_FILE, { workerData: { file } });
      this.worker.on('message', (reply: SqliteReply) => {
        const p = this.pending.get(reply.id);
        if (p === undefined) return;
        this.pending.delete(reply.id);
        if (this.pending.size === 0) this.worker?.unref();
        if ('error' in reply) p.reject(new Error(reply.error));
        else p.resolve(reply.result);
      });
      const failAll = (err: Error): void => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      this.worker.on('error', failAll);
      this.worker.on('exit', () => failAll(new Error('the SQLite worker exited')));
      // The worker keeps the process alive only while an operation is pending (see call()).
      this.worker.unref();
    } else {
      this.engine = new SqliteEngine(file, INLINE_BUSY_TIMEOUT_MS);
    }
  }

  exec(sql: string): Promise<void> {
    return this.call('exec', [sql]) as Promise<void>;
  }

  run(sql: string, params: readonly SqlValue[]): Promise<number> {
    return this.call('run', [sql, params]) as Promise<number>;
  }

  all(sql: string, params: readonly SqlValue[]): Promise<Record<string, unknown>[]> {
    return this.call('all', [sql, params]) as Promise<Record<string, unknown>[]>;
  }

  batch(statements: readonly { sql: string; params: readonly SqlValue[] }[]): Promise<void> {
    return this.call('batch', [statements]) as Promise<void>;
  }

  insertRows(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<void> {
    return this.call('insertRows', [table, columns, rows]) as Promise<void>;
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.call('close', []);
      if (this.worker !== undefined) await this.worker.terminate();
    })();
    return this.closed;
  }

  private call(op: keyof SqliteOps, args: readonly unknown[]): Promise<unknown> {
    const engine = this.engine;
    if (engine !== undefined) {
      try {
        return Promise.resolve((engine[op] as (...a: unknown[]) => unknown).apply(engine, [...args]));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    const worker = this.worker as Worker;
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      const req: SqliteRequest = { id, op, args };
      worker.postMessage(req);
    });
  }
}
