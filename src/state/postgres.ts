import pg from 'pg';
import type { SqlDriver, SqlValue } from './sql-store.js';

/** Rows per multi-row INSERT (PostgreSQL allows 65 535 parameters per statement). */
const ROWS_PER_STATEMENT = 200;

/** Rewrites `?` placeholders to PostgreSQL's `$1, $2, …` (statements here never contain a literal `?`). */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** PostgreSQL through `pg` (a small pool): the store shared by several gateway instances. */
export class PostgresDriver implements SqlDriver {
  readonly kind = 'postgres' as const;
  readonly serialPrimaryKey = 'BIGSERIAL PRIMARY KEY';
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: 4,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async run(sql: string, params: readonly SqlValue[]): Promise<number> {
    const r = await this.pool.query(numbered(sql), params as SqlValue[]);
    return r.rowCount ?? 0;
  }

  async all(sql: string, params: readonly SqlValue[]): Promise<Record<string, unknown>[]> {
    const r = await this.pool.query(numbered(sql), params as SqlValue[]);
    return r.rows as Record<string, unknown>[];
  }

  async batch(statements: readonly { sql: string; params: readonly SqlValue[] }[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (const s of statements) await client.query(numbered(s.sql), s.params as SqlValue[]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async insertRows(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<void> {
    const statements: { sql: string; params: SqlValue[] }[] = [];
    const row = `(${columns.map(() => '?').join(', ')})`;
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
      statements.push({
        sql: `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => row).join(', ')}`,
        params: chunk.flat(),
      });
    }
    await this.batch(statements);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
