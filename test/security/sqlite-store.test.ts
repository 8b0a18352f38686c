import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqlStore } from '../../src/state/sql-store.js';
import { ROWS_PER_TURN } from '../../src/state/sqlite-engine.js';
import { SqliteDriver } from '../../src/state/sqlite.js';
import type { AuditRecord } from '../../src/state/store.js';

const file = (): string => join(mkdtempSync(join(tmpdir(), 'toolgate-sqlite-')), 'toolgate.db');

function record(i: number, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    ts: 1_700_000_000_000 + i,
    principal: i % 2 === 0 ? 'alice' : 'bob',
    authMethod: 'api-key',
    tenant: null,
    tool: 'demo__echo',
    toolVersion: 'v1',
    upstream: 'demo',
    argsHash: 'h'.repeat(64),
    args: `{"i":${i}}`,
    outcome: 'ok',
    errorCode: null,
    durationMs: 1.25,
    corrections: null,
    correlationId: `c${i}`,
    ...extra,
  };
}

describe('SQLite store on the event loop', () => {
  it('writes a large batch in one transaction, a chunk per event-loop turn, with other operations queued behind it', async () => {
    const store = new SqlStore(new SqliteDriver(file(), { worker: false }));
    await store.init();
    const n = ROWS_PER_TURN * 4 + 7;
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const write = store.appendAudit(Array.from({ length: n }, (_, i) => record(i)));
    // Issued while the batch is being written: must neither run inside its transaction nor see half of it.
    const during = store.queryAudit({ limit: 100_000 });
    await write;
    clearInterval(ticker);
    expect((await during).length).toBe(n);
    expect(turns).toBeGreaterThan(0); // timers ran between chunks: the loop was not held for the whole batch
    const rows = await store.queryAudit({ principal: 'bob', limit: 100_000, newestFirst: false });
    expect(rows).toHaveLength(Math.floor(n / 2));
    expect(rows[0]).toMatchObject({ principal: 'bob', args: '{"i":1}', correlationId: 'c1', durationMs: 1.25 });
    // Ids grow with insertion order (audit tail follows them).
    const ids = (await store.queryAudit({ limit: 100_000, newestFirst: false })).map((r) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    await store.close();
  });

  it('rolls back the whole batch when a row fails, and keeps working', async () => {
    const store = new SqlStore(new SqliteDriver(file(), { worker: false }));
    await store.init();
    const rows = Array.from({ length: ROWS_PER_TURN * 2 + 1 }, (_, i) => record(i));
    rows[ROWS_PER_TURN + 3] = record(0, { principal: null as unknown as string }); // NOT NULL violation in chunk 2
    await expect(store.appendAudit(rows)).rejects.toThrow(/NOT NULL/);
    expect(await store.queryAudit({ limit: 10 })).toHaveLength(0);
    await store.appendAudit([record(1)]);
    expect(await store.queryAudit({ limit: 10 })).toHaveLength(1);
    await store.close();
  });
});

describe('memory store', () => {
  it('keeps only the newest audit records', async () => {
    const { MemoryStore } = await import('../../src/state/store.js');
    const store = new MemoryStore(100);
    for (let i = 0; i < 25; i++) await store.appendAudit(Array.from({ length: 10 }, (_, k) => record(i * 10 + k)));
    const rows = await store.queryAudit({ limit: 1000, newestFirst: false });
    expect(rows.length).toBeGreaterThanOrEqual(100);
    expect(rows.length).toBeLessThanOrEqual(110);
    expect(rows.at(-1)?.correlationId).toBe('c249');
    expect(rows[0]?.id).toBe(250 - rows.length + 1);
  });
});
