import type { ApiKeyRecord, AuditQuery, AuditRecord, PinRecord, Store, StoredAuditRecord } from './store.js';

/** A value bound to a statement parameter. */
export type SqlValue = string | number | null;

/** The little a SQL backend must offer. Statements use `?` placeholders; the driver adapts them. */
export interface SqlDriver {
  readonly kind: 'sqlite' | 'postgres';
  /** DDL of the audit id column (dialects differ). */
  readonly serialPrimaryKey: string;
  exec(sql: string): Promise<void>;
  run(sql: string, params: readonly SqlValue[]): Promise<number>;
  all(sql: string, params: readonly SqlValue[]): Promise<Record<string, unknown>[]>;
  /** Runs statements in one transaction. */
  batch(statements: readonly { sql: string; params: readonly SqlValue[] }[]): Promise<void>;
  /** Inserts rows in one transaction, the fastest way the backend has (a reused prepared statement, multi-row VALUES). */
  insertRows(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<void>;
  close(): Promise<void>;
}

const AUDIT_COLUMNS = [
  'ts',
  'principal',
  'auth_method',
  'tenant',
  'tool',
  'tool_version',
  'upstream',
  'args_hash',
  'args',
  'outcome',
  'error_code',
  'duration_ms',
  'corrections',
  'correlation_id',
] as const;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** The SQL store (SQLite and PostgreSQL share it; only the driver differs). */
export class SqlStore implements Store {
  constructor(private readonly driver: SqlDriver) {}

  get kind(): 'sqlite' | 'postgres' {
    return this.driver.kind;
  }

  async init(): Promise<void> {
    const d = this.driver;
    await d.exec(`CREATE TABLE IF NOT EXISTS toolgate_api_keys (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL, scopes TEXT NOT NULL,
      created_at BIGINT NOT NULL, expires_at BIGINT, revoked_at BIGINT, last_used_at BIGINT)`);
    await d.exec(`CREATE TABLE IF NOT EXISTS toolgate_audit (
      id ${d.serialPrimaryKey}, ts BIGINT NOT NULL, principal TEXT NOT NULL, auth_method TEXT NOT NULL, tenant TEXT,
      tool TEXT NOT NULL, tool_version TEXT NOT NULL, upstream TEXT NOT NULL, args_hash TEXT NOT NULL, args TEXT NOT NULL,
      outcome TEXT NOT NULL, error_code TEXT, duration_ms DOUBLE PRECISION NOT NULL, corrections TEXT, correlation_id TEXT NOT NULL)`);
    await d.exec('CREATE INDEX IF NOT EXISTS toolgate_audit_ts ON toolgate_audit (ts)');
    // One index only: every write pays for each index, and audit is write-heavy; queries are time-bounded.
    await d.exec(`CREATE TABLE IF NOT EXISTS toolgate_tool_pins (
      upstream TEXT NOT NULL, tool TEXT NOT NULL, exposed_name TEXT NOT NULL, fingerprint TEXT NOT NULL,
      pending_fingerprint TEXT, definition TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
      first_seen BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (upstream, tool))`);
  }

  async insertKey(k: ApiKeyRecord): Promise<void> {
    await this.driver.run(
      'INSERT INTO toolgate_api_keys (id, name, hash, scopes, created_at, expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [k.id, k.name, k.hash, JSON.stringify(k.scopes), k.createdAt, k.expiresAt, k.revokedAt, k.lastUsedAt],
    );
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.driver.all('SELECT * FROM toolgate_api_keys WHERE id = ?', [id]);
    return rows[0] === undefined ? undefined : toKey(rows[0]);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (await this.driver.all('SELECT * FROM toolgate_api_keys ORDER BY created_at', [])).map(toKey);
  }

  async revokeKey(idOrName: string, at: number): Promise<number> {
    return this.driver.run(
      'UPDATE toolgate_api_keys SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL',
      [at, idOrName, idOrName],
    );
  }

  async touchKeys(lastUsed: ReadonlyMap<string, number>): Promise<void> {
    if (lastUsed.size === 0) return;
    await this.driver.batch(
      [...lastUsed].map(([id, at]) => ({
        sql: 'UPDATE toolgate_api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
        params: [at, id, at],
      })),
    );
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const rows = records.map((r) => [
      r.ts,
      r.principal,
      r.authMethod,
      r.tenant,
      r.tool,
      r.toolVersion,
      r.upstream,
      r.argsHash,
      r.args,
      r.outcome,
      r.errorCode,
      r.durationMs,
      r.corrections,
      r.correlationId,
    ]);
    await this.driver.insertRows('toolgate_audit', AUDIT_COLUMNS, rows);
  }

  async queryAudit(q: AuditQuery): Promise<StoredAuditRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const add = (clause: string, v: SqlValue | undefined): void => {
      if (v === undefined) return;
      where.push(clause);
      params.push(v);
    };
    add('principal = ?', q.principal);
    add('tool = ?', q.tool);
    add('outcome = ?', q.outcome);
    add('ts >= ?', q.since);
    add('id > ?', q.afterId);
    params.push(q.limit);
    const sql = `SELECT * FROM toolgate_audit ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${q.newestFirst === false ? 'ASC' : 'DESC'} LIMIT ?`;
    return (await this.driver.all(sql, params)).map(toAudit);
  }

  async pruneAudit(before: number): Promise<number> {
    return this.driver.run('DELETE FROM toolgate_audit WHERE ts < ?', [before]);
  }

  async listPins(): Promise<PinRecord[]> {
    return (await this.driver.all('SELECT * FROM toolgate_tool_pins', [])).map(toPin);
  }

  async upsertPin(p: PinRecord): Promise<void> {
    await this.driver.run(
      `INSERT INTO toolgate_tool_pins (upstream, tool, exposed_name, fingerprint, pending_fingerprint, definition, status, reason, first_seen, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (upstream, tool) DO UPDATE SET exposed_name = excluded.exposed_name, fingerprint = excluded.fingerprint,
         pending_fingerprint = excluded.pending_fingerprint, definition = excluded.definition, status = excluded.status,
         reason = excluded.reason, updated_at = excluded.updated_at`,
      [
        p.upstream,
        p.tool,
        p.exposedName,
        p.fingerprint,
        p.pendingFingerprint,
        p.definition,
        p.status,
        p.reason,
        p.firstSeen,
        p.updatedAt,
      ],
    );
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}

function toKey(r: Record<string, unknown>): ApiKeyRecord {
  return {
    id: String(r['id']),
    name: String(r['name']),
    hash: String(r['hash']),
    scopes: JSON.parse(String(r['scopes'])) as string[],
    createdAt: num(r['created_at']),
    expiresAt: numOrNull(r['expires_at']),
    revokedAt: numOrNull(r['revoked_at']),
    lastUsedAt: numOrNull(r['last_used_at']),
  };
}

function toAudit(r: Record<string, unknown>): StoredAuditRecord {
  return {
    id: num(r['id']),
    ts: num(r['ts']),
    principal: String(r['principal']),
    authMethod: String(r['auth_method']),
    tenant: strOrNull(r['tenant']),
    tool: String(r['tool']),
    toolVersion: String(r['tool_version']),
    upstream: String(r['upstream']),
    argsHash: String(r['args_hash']),
    args: String(r['args']),
    outcome: String(r['outcome']) as StoredAuditRecord['outcome'],
    errorCode: strOrNull(r['error_code']),
    durationMs: num(r['duration_ms']),
    corrections: strOrNull(r['corrections']),
    correlationId: String(r['correlation_id']),
  };
}

function toPin(r: Record<string, unknown>): PinRecord {
  return {
    upstream: String(r['upstream']),
    tool: String(r['tool']),
    exposedName: String(r['exposed_name']),
    fingerprint: String(r['fingerprint']),
    pendingFingerprint: strOrNull(r['pending_fingerprint']),
    definition: String(r['definition']),
    status: String(r['status']) as PinRecord['status'],
    reason: strOrNull(r['reason']),
    firstSeen: num(r['first_seen']),
    updatedAt: num(r['updated_at']),
  };
}
