/**
 * The state store: API keys, audit records and tool pins. One small interface, three implementations —
 * memory (tests, configs that are not files), SQLite (default, a file next to the config) and PostgreSQL
 * (shared by many instances). Everything is asynchronous; the hot path never waits on it (caches and batches
 * sit in front).
 */

/** An API key as stored: only a hash of the secret part is kept. */
export interface ApiKeyRecord {
  /** Public id (the `tgk_<id>_…` part), also the principal subject `key:<id>`. */
  readonly id: string;
  readonly name: string;
  /** Hex SHA-256 of the secret part. */
  readonly hash: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
}

/** Outcome of an audited call. */
export type AuditOutcome = 'ok' | 'tool_error' | 'denied' | 'limited' | 'error';

/** One audit record (times in epoch milliseconds). */
export interface AuditRecord {
  readonly ts: number;
  readonly principal: string;
  readonly authMethod: string;
  readonly tenant: string | null;
  readonly tool: string;
  readonly toolVersion: string;
  readonly upstream: string;
  /** SHA-256 (hex) of the arguments as received, before redaction. */
  readonly argsHash: string;
  /** Redacted arguments (JSON text, possibly truncated). */
  readonly args: string;
  readonly outcome: AuditOutcome;
  readonly errorCode: string | null;
  readonly durationMs: number;
  /** Corrections applied to the arguments (JSON text), when a policy reported any. */
  readonly corrections: string | null;
  readonly correlationId: string;
}

/** A stored audit record with its sequence number. */
export interface StoredAuditRecord extends AuditRecord {
  readonly id: number;
}

/** Filters of `queryAudit`; all optional, combined with AND. */
export interface AuditQuery {
  principal?: string;
  tool?: string;
  outcome?: string;
  /** Records at or after this time (ms). */
  since?: number;
  /** Records with a greater id (tail). */
  afterId?: number;
  /** Newest first when true (default), oldest first otherwise. */
  newestFirst?: boolean;
  limit: number;
}

/** Pin status of an upstream tool. */
export type PinStatus = 'approved' | 'pending';

/** The pinned fingerprint of one upstream tool. */
export interface PinRecord {
  readonly upstream: string;
  /** Name at the upstream. */
  readonly tool: string;
  /** Namespaced name (for `toolgate tools approve NAME`). */
  readonly exposedName: string;
  /** Approved fingerprint (what calls are allowed against). */
  readonly fingerprint: string;
  /** Fingerprint seen upstream and awaiting approval, when it differs from the approved one (or is the first). */
  readonly pendingFingerprint: string | null;
  /** Definition (JSON text) belonging to `pendingFingerprint`, or to `fingerprint` when nothing is pending. */
  readonly definition: string;
  readonly status: PinStatus;
  /** Why the tool is pending (changed upstream, screen findings). */
  readonly reason: string | null;
  readonly firstSeen: number;
  readonly updatedAt: number;
}

/** The store interface every backend implements. */
export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** Creates tables when missing. Idempotent. */
  init(): Promise<void>;
  insertKey(record: ApiKeyRecord): Promise<void>;
  getKey(id: string): Promise<ApiKeyRecord | undefined>;
  listKeys(): Promise<ApiKeyRecord[]>;
  /** Revokes by id or name; returns how many keys were revoked. */
  revokeKey(idOrName: string, at: number): Promise<number>;
  /** Records last-used times (batched by the caller). */
  touchKeys(lastUsed: ReadonlyMap<string, number>): Promise<void>;
  appendAudit(records: readonly AuditRecord[]): Promise<void>;
  queryAudit(query: AuditQuery): Promise<StoredAuditRecord[]>;
  /** Deletes records older than `before` (ms); returns how many. */
  pruneAudit(before: number): Promise<number>;
  listPins(): Promise<PinRecord[]>;
  upsertPin(record: PinRecord): Promise<void>;
  close(): Promise<void>;
}

/** Audit records the memory store keeps by default (the oldest go first). */
export const MEMORY_AUDIT_LIMIT = 100_000;

/**
 * Keeps everything in process memory (nothing survives a restart). Audit is bounded: only the newest
 * `maxAuditRecords` are kept, so a long-running gateway on the memory store does not grow without end.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly keys = new Map<string, ApiKeyRecord>();
  private audit: StoredAuditRecord[] = [];
  private nextId = 1;
  private readonly pins = new Map<string, PinRecord>();

  constructor(private readonly maxAuditRecords: number = MEMORY_AUDIT_LIMIT) {}

  async init(): Promise<void> {}

  async insertKey(record: ApiKeyRecord): Promise<void> {
    this.keys.set(record.id, record);
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.keys.get(id);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return [...this.keys.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeKey(idOrName: string, at: number): Promise<number> {
    let n = 0;
    for (const k of this.keys.values()) {
      if ((k.id === idOrName || k.name === idOrName) && k.revokedAt === null) {
        this.keys.set(k.id, { ...k, revokedAt: at });
        n++;
      }
    }
    return n;
  }

  async touchKeys(lastUsed: ReadonlyMap<string, number>): Promise<void> {
    for (const [id, at] of lastUsed) {
      const k = this.keys.get(id);
      if (k !== undefined) this.keys.set(id, { ...k, lastUsedAt: Math.max(at, k.lastUsedAt ?? 0) });
    }
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    for (const r of records) this.audit.push({ ...r, id: this.nextId++ });
    // Trim in steps (a tenth of the limit at a time), not on every append.
    if (this.audit.length > this.maxAuditRecords * 1.1) this.audit = this.audit.slice(-this.maxAuditRecords);
  }

  async queryAudit(q: AuditQuery): Promise<StoredAuditRecord[]> {
    const rows = this.audit.filter(
      (r) =>
        (q.principal === undefined || r.principal === q.principal) &&
        (q.tool === undefined || r.tool === q.tool) &&
        (q.outcome === undefined || r.outcome === q.outcome) &&
        (q.since === undefined || r.ts >= q.since) &&
        (q.afterId === undefined || r.id > q.afterId),
    );
    if (q.newestFirst !== false) rows.reverse();
    return rows.slice(0, q.limit);
  }

  async pruneAudit(before: number): Promise<number> {
    const n = this.audit.length;
    this.audit = this.audit.filter((r) => r.ts >= before);
    return n - this.audit.length;
  }

  async listPins(): Promise<PinRecord[]> {
    return [...this.pins.values()];
  }

  async upsertPin(record: PinRecord): Promise<void> {
    this.pins.set(`${record.upstream}\u0000${record.tool}`, record);
  }

  async close(): Promise<void> {}
}
