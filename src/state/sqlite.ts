import { existsSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { INLINE_BUSY_TIMEOUT_MS, ROWS_PER_TURN, SqliteEngine, type SqliteOps } from './sqlite-engine.js';
import type { SqliteReply, SqliteRequest } from './sqlite-worker.js';
import type { SqlDriver, SqlValue } from './sql-store.js';

const WORKER_FILE = fileURLToPath(new URL('./sqlite-worker.js', import.meta.url));

/**
 * The SQLite driver. By default the (synchronous, WebAssembly) engine runs on the event loop: that costs the least
 * CPU per audit record. A large insert is then one transaction whose rows go in `ROWS_PER_TURN` at a time, one
 * event-loop turn each, so requests are served in between; operations are serialised, so nothing else runs inside
 * that open transaction. The commit — where SQLite waits for the disk — happens once per batch, not per chunk.
 * With `worker: true` the engine runs in a worker thread instead (no write or lock wait ever blocks the event
 * loop; uses a second core when there is one). Without the compiled worker script (TypeScript sources in tests),
 * the engine runs on the event loop.
 */
export class SqliteDriver implements SqlDriver {
  readonly kind = 'sqlite' as const;
  // A rowid alias without AUTOINCREMENT: AUTOINCREMENT rewrites the sqlite_sequence table on every insert (about a
  // quarter of an audit row's cost). Ids still only grow while the newest row exists; retention deletes the oldest.
  readonly serialPrimaryKey = 'INTEGER PRIMARY KEY';
  private readonly worker: Worker | undefined;
  private readonly engine: SqliteEngine | undefined;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed: Promise<void> | undefined;
  /** Inline engine: the operation running now (the next one waits for it). */
  private tail: Promise<unknown> = Promise.resolve();

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
    const engine = this.engine;
    if (engine === undefined || rows.length <= ROWS_PER_TURN)
      return this.call('insertRows', [table, columns, rows]) as Promise<void>;
    return this.serial(async () => {
      engine.begin();
      try {
        for (let i = 0; i < rows.length; i += ROWS_PER_TURN) {
          if (i > 0) await nextTurn();
          engine.insertInTransaction(table, columns, rows.slice(i, i + ROWS_PER_TURN));
        }
        engine.commit();
      } catch (err) {
        engine.rollback();
        throw err;
      }
    });
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
    if (engine !== undefined)
      return this.serial(() => (engine[op] as (...a: unknown[]) => unknown).apply(engine, [...args]));
    const worker = this.worker as Worker;
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      const req: SqliteRequest = { id, op, args };
      worker.postMessage(req);
    });
  }

  /** Runs inline engine operations one after another (a chunked insert spans several turns). */
  private serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => {});
    return run;
  }
}
