import { mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import { GatewayError } from '../errors.js';
import type { SqlValue } from './sql-store.js';

/** How long a statement waits for another process's lock before failing (in a worker thread, where waiting is free). */
export const WORKER_BUSY_TIMEOUT_MS = 5000;
/** The same on the event loop: a short wait, then the caller's own retry (the audit writer backs off and retries). */
export const INLINE_BUSY_TIMEOUT_MS = 50;

// node-sqlite3-wasm is CommonJS: Node's ESM loader cannot see its named exports.
const { Database } = sqlite;
/** A lock older than this was left by a killed process (locks are held only for one statement or batch). */
const STALE_LOCK_MS = 60_000;

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

function isBusy(err: unknown): boolean {
  return err instanceof Error && /SQLITE_BUSY|database is locked/i.test(err.message);
}

/** The synchronous operations of the SQLite engine (what the worker thread serves). */
export interface SqliteOps {
  exec(sql: string): void;
  run(sql: string, params: readonly SqlValue[]): number;
  all(sql: string, params: readonly SqlValue[]): Record<string, unknown>[];
  batch(statements: readonly { sql: string; params: readonly SqlValue[] }[]): void;
  insertRows(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): void;
  close(): void;
}

/** Rows inserted per event-loop turn when the engine runs on the event loop (see `SqliteDriver.insertRows`). */
export const ROWS_PER_TURN = 250;

interface CachedInsert {
  readonly key: string;
  readonly statement: ReturnType<InstanceType<typeof Database>['prepare']>;
}

/**
 * SQLite through node-sqlite3-wasm: SQLite compiled to WebAssembly with a VFS on Node's `fs`, so it persists to a
 * real file and installs without a compiler or a prebuilt download. Its calls are synchronous; `SqliteDriver` runs
 * this engine in a worker thread so they never block the event loop. Cross-process locking is a `<file>.lock`
 * directory; a busy database is retried for up to 5 s.
 */
export class SqliteEngine implements SqliteOps {
  private readonly db: InstanceType<typeof Database>;
  /** Prepared INSERTs by table and columns (audit batches reuse them). */
  private readonly inserts = new Map<string, CachedInsert>();

  constructor(
    readonly file: string,
    private readonly busyTimeoutMs: number = WORKER_BUSY_TIMEOUT_MS,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    removeStaleLock(file);
    try {
      this.db = new Database(file);
      // Same durability as the default (DELETE) rollback journal, without creating and unlinking the journal file
      // on every transaction.
      this.retry(() => this.db.exec('PRAGMA journal_mode=TRUNCATE'));
    } catch (err) {
      throw new GatewayError('TG_STORE_UNAVAILABLE', `cannot open SQLite store ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  exec(sql: string): void {
    this.retry(() => this.db.exec(sql));
  }

  run(sql: string, params: readonly SqlValue[]): number {
    return this.retry(() => this.db.run(sql, params as SqlValue[]).changes);
  }

  all(sql: string, params: readonly SqlValue[]): Record<string, unknown>[] {
    return this.retry(() => this.db.all(sql, params as SqlValue[]) as Record<string, unknown>[]);
  }

  batch(statements: readonly { sql: string; params: readonly SqlValue[] }[]): void {
    this.transaction(() => {
      for (const s of statements) this.db.run(s.sql, s.params as SqlValue[]);
    });
  }

  insertRows(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): void {
    this.transaction(() => this.insertInTransaction(table, columns, rows));
  }

  /** Starts a write transaction (waits for another process's lock as `retry` does). */
  begin(): void {
    this.retry(() => this.db.exec('BEGIN IMMEDIATE'));
  }

  /** Commits the open transaction (this is where SQLite syncs the file). */
  commit(): void {
    this.db.exec('COMMIT');
  }

  /** Rolls back the open transaction, if one is open. */
  rollback(): void {
    if (this.db.isOpen && this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  /**
   * Inserts rows with a reused single-row prepared statement, inside a transaction the caller opened. (A multi-row
   * `VALUES` statement measured worse: SQLite runs it as a co-routine, ~25 % more instructions per row.)
   */
  insertInTransaction(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): void {
    const stmt = this.insertStatement(table, columns);
    for (const row of rows) this.runInsert(stmt, row as SqlValue[]);
  }

  private insertStatement(table: string, columns: readonly string[]): CachedInsert {
    const key = `${table}(${columns.join(',')})`;
    let stmt = this.inserts.get(key);
    if (stmt === undefined) {
      stmt = {
        key,
        statement: this.db.prepare(
          `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        ),
      };
      this.inserts.set(key, stmt);
    }
    return stmt;
  }

  private runInsert(stmt: CachedInsert, values: SqlValue[]): void {
    try {
      stmt.statement.run(values);
    } catch (err) {
      // After a failed step SQLite's reset reports that failure again, and the driver then refuses to bind: a
      // cached statement would fail every later batch. Drop it; the next batch prepares a fresh one.
      this.inserts.delete(stmt.key);
      try {
        stmt.statement.finalize();
      } catch {
        // finalize repeats the step's error; the statement is released all the same
      }
      throw err;
    }
  }

  close(): void {
    for (const s of this.inserts.values()) s.statement.finalize();
    this.inserts.clear();
    if (this.db.isOpen) this.db.close();
  }

  private transaction(fn: () => void): void {
    this.retry(() => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        fn();
        this.commit();
      } catch (err) {
        this.rollback();
        throw err;
      }
    });
  }

  private retry<T>(fn: () => T): T {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err) || Date.now() > deadline) throw err;
        Atomics.wait(SLEEPER, 0, 0, wait); // short synchronous back-off: the driver is synchronous anyway
      }
    }
  }
}

function removeStaleLock(file: string): void {
  const lock = `${file}.lock`;
  try {
    if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
  } catch {
    // no lock
  }
}
