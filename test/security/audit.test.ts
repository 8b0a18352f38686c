import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditSchema, RedactionSchema } from '../../src/config/security.js';
import { AuditWriter, type AuditEntry } from '../../src/security/audit-writer.js';
import { createRedactor } from '../../src/security/redactor.js';
import { PostgresDriver } from '../../src/state/postgres.js';
import { SqlStore } from '../../src/state/sql-store.js';
import { SqliteDriver } from '../../src/state/sqlite.js';
import { MemoryStore, type AuditRecord, type Store } from '../../src/state/store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startGateway } from '../helpers/gateway.js';
import { ROOT, TOOLGATE_BIN } from '../helpers/paths.js';
import { descendants, waitFor } from '../helpers/processes.js';
import { serveProcess } from '../helpers/serve-process.js';
import { POSTGRES_URL, serviceSkipReason } from '../helpers/services.js';
import { mcp, resultText } from './helpers.js';

const silent = createLogger({ level: 'silent' });
const run = promisify(execFile);
const tmp = (): string => mkdtempSync(join(tmpdir(), 'toolgate-audit-'));

afterAll(async () => {
  await waitFor(() => descendants(process.pid).length === 0, 8000, 'no child processes left');
});

function entry(i: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    ts: Date.now(),
    principal: 'alice',
    authMethod: 'bearer',
    tenant: undefined,
    tool: 'demo__echo',
    toolVersion: 'v1',
    upstream: 'demo',
    arguments: { i, note: 'mail bob@example.com' },
    outcome: 'ok',
    errorCode: undefined,
    durationMs: 1.5,
    corrections: undefined,
    correlationId: `c${i}`,
    ...extra,
  };
}

describe('audit writer', () => {
  it('writes in batches, hashes and redacts arguments, loses nothing on close', async () => {
    const store = new MemoryStore();
    const writer = new AuditWriter({
      config: AuditSchema.parse({ batchSize: 10, flushIntervalMs: 60_000 }),
      redactor: createRedactor({ config: RedactionSchema.parse({}) }),
      logger: silent,
    });
    writer.attach(store);
    for (let i = 0; i < 25; i++) writer.record(entry(i));
    await writer.close();
    const rows = await store.queryAudit({ limit: 100, newestFirst: false });
    expect(rows).toHaveLength(25);
    expect(rows[3]?.args).toBe('{"i":3,"note":"mail [REDACTED:email]"}');
    expect(rows[3]?.argsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[3]?.argsHash).not.toBe(rows[4]?.argsHash);
    expect(writer.pending).toBe(0);
  });

  it('keeps records while the store fails and writes them once it recovers', async () => {
    const store = new MemoryStore();
    let failing = true;
    const flaky: Store = Object.assign(Object.create(store) as Store, {
      appendAudit: (records: readonly AuditRecord[]) =>
        failing ? Promise.reject(new Error('store down')) : store.appendAudit(records),
    });
    const writer = new AuditWriter({
      config: AuditSchema.parse({ flushIntervalMs: 60_000 }),
      redactor: createRedactor({ config: RedactionSchema.parse({}) }),
      logger: silent,
    });
    writer.attach(flaky);
    for (let i = 0; i < 5; i++) writer.record(entry(i));
    await writer.flush();
    expect(writer.pending).toBe(5);
    failing = false;
    await writer.close();
    expect(await store.queryAudit({ limit: 10 })).toHaveLength(5);
  });

  it('drops and counts records beyond maxQueue instead of growing without bound', () => {
    let dropped = 0;
    const writer = new AuditWriter({
      config: AuditSchema.parse({ maxQueue: 100 }),
      redactor: createRedactor({ config: RedactionSchema.parse({}) }),
      logger: silent,
      onDropped: (n) => (dropped += n),
    });
    for (let i = 0; i < 130; i++) writer.record(entry(i));
    expect(writer.pending).toBe(100);
    expect(dropped).toBe(30);
  });

  it('applies retention', async () => {
    const store = new MemoryStore();
    await store.appendAudit([
      { ...(await recordOf(entry(1))), ts: Date.now() - 40 * 86_400_000 },
      { ...(await recordOf(entry(2))), ts: Date.now() - 1000 },
    ]);
    const writer = new AuditWriter({
      config: AuditSchema.parse({ retentionDays: 30 }),
      redactor: createRedactor({ config: RedactionSchema.parse({}) }),
      logger: silent,
    });
    writer.attach(store);
    await waitFor(async () => (await store.queryAudit({ limit: 10 })).length === 1, 2000, 'retention sweep');
    await writer.close();
  });
});

async function recordOf(e: AuditEntry): Promise<AuditRecord> {
  const store = new MemoryStore();
  const w = new AuditWriter({
    config: AuditSchema.parse({}),
    redactor: createRedactor({ config: RedactionSchema.parse({}) }),
    logger: silent,
  });
  w.attach(store);
  w.record(e);
  await w.close();
  const [r] = await store.queryAudit({ limit: 1 });
  if (r === undefined) throw new Error('no record');
  const { id: _id, ...rest } = r;
  return rest;
}

/** N concurrent calls through an in-process gateway whose store is `storeYaml`; returns the store's records. */
async function concurrentCalls(storeYaml: string, n: number, open: () => Store): Promise<number> {
  const gw = await startGateway(`
${storeYaml}
audit: { flushIntervalMs: 50, batchSize: 7 }
upstreams:
  demo: { kind: local, module: examples/tools/demo-tools.mjs }
`);
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      mcp(gw.url, 'tools/call', { name: 'demo__echo', arguments: { message: `m${i}` } }),
    ),
  );
  expect(results.map(resultText).sort()).toEqual(Array.from({ length: n }, (_, i) => `m${i}`).sort());
  await gw.stop();
  const store = open();
  try {
    return (await store.queryAudit({ tool: 'demo__echo', limit: 10_000 })).length;
  } finally {
    await store.close();
  }
}

describe('audit end to end', () => {
  it('N concurrent calls give N records in SQLite', async () => {
    const file = join(tmp(), 'audit.db');
    expect(
      await concurrentCalls(`store: { kind: sqlite, path: ${file} }`, 60, () => new SqlStore(new SqliteDriver(file))),
    ).toBe(60);
  });

  describe('PostgreSQL', async () => {
    const skip = await serviceSkipReason('postgres');
    const schema = `tg_audit_${process.pid}_${Date.now()}`;
    const url = `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    afterAll(async () => {
      if (skip !== undefined) return;
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    });

    it.skipIf(skip !== undefined)('N concurrent calls give N records in PostgreSQL; queries filter', async () => {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`CREATE SCHEMA ${schema}`);
      await c.end();
      expect(
        await concurrentCalls(
          `store: { kind: postgres, url: "${url}" }`,
          40,
          () => new SqlStore(new PostgresDriver(url)),
        ),
      ).toBe(40);
      const store = new SqlStore(new PostgresDriver(url));
      try {
        const rows = await store.queryAudit({
          principal: 'anonymous',
          outcome: 'ok',
          since: Date.now() - 60_000,
          limit: 5,
        });
        expect(rows).toHaveLength(5);
        expect(rows[0]?.id).toBeGreaterThan(rows[1]?.id ?? Infinity);
        expect(await store.queryAudit({ principal: 'nobody', limit: 5 })).toHaveLength(0);
        expect(await store.pruneAudit(Date.now() + 1000)).toBe(40);
      } finally {
        await store.close();
      }
    });
  });

  it('N concurrent calls give N records when SIGTERM arrives mid-load (real toolgate serve, SQLite in its worker)', async () => {
    const dir = tmp();
    const config = join(dir, 'toolgate.yaml');
    writeFileSync(
      config,
      `listen: { port: 0 }
store: { worker: true }
audit: { flushIntervalMs: 60000, batchSize: 1000 }
upstreams:
  demo: { kind: local, module: ${join(ROOT, 'examples/tools/demo-tools.mjs')} }
`,
    );
    const { proc, url, exited } = await serveProcess(config);
    const N = 30;
    const calls = Array.from({ length: N }, (_, i) =>
      mcp(url, 'tools/call', { name: 'demo__count_slowly', arguments: { n: 3, delayMs: 100 + i } }),
    );
    const metrics = new URL('/metrics', url).toString();
    await waitFor(
      async () => /toolgate_inflight_calls (\d+)/.exec(await (await fetch(metrics)).text())?.[1] === String(N),
      10_000,
      'all calls in flight',
    );
    proc.kill('SIGTERM');
    const results = await Promise.all(calls);
    expect(results.every((r) => resultText(r) === 'Counted to 3.')).toBe(true);
    expect(await exited).toBe(0);
    const store = new SqlStore(new SqliteDriver(join(dir, 'toolgate.db')));
    try {
      const rows = await store.queryAudit({ tool: 'demo__count_slowly', limit: 1000 });
      expect(rows).toHaveLength(N);
      expect(new Set(rows.map((r) => r.correlationId)).size).toBe(N);
      expect(rows.every((r) => r.outcome === 'ok' && r.principal === 'anonymous')).toBe(true);
    } finally {
      await store.close();
    }
    // The same records through the CLI.
    const cli = (args: string[]): Promise<{ stdout: string }> =>
      run(process.execPath, [TOOLGATE_BIN, 'audit', ...args, '--config', config]);
    const json = (await cli(['query', '--tool', 'demo__count_slowly', '--since', '10m', '--json'])).stdout
      .trim()
      .split('\n');
    expect(json).toHaveLength(N);
    expect((JSON.parse(json[0] as string) as { outcome: string; args: string }).args).toMatch(
      /^\{"delayMs":\d+,"n":3\}$/,
    );
    expect((await cli(['query', '--outcome', 'denied'])).stdout).toBe('');
    const table = (await cli(['query', '--principal', 'anonymous', '--limit', '3'])).stdout.trim().split('\n');
    expect(table[0]).toMatch(/^TIME\s+PRINCIPAL\s+TOOL\s+OUTCOME/);
    expect(table).toHaveLength(4);
  });
});
