import { hash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { stableStringify } from '../catalog/fingerprint.js';
import type { AuditConfig } from '../config/security.js';
import type { JsonObject } from '../jsonrpc/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { AuditOutcome, AuditRecord, Store } from '../state/store.js';
import type { Redactor } from './redactor.js';

/** What the audit policy hands over per call; hashing and redaction of the arguments happen at flush time. */
export interface AuditEntry {
  readonly ts: number;
  readonly principal: string;
  readonly authMethod: string;
  readonly tenant: string | undefined;
  readonly tool: string;
  readonly toolVersion: string;
  readonly upstream: string;
  readonly arguments: JsonObject;
  readonly outcome: AuditOutcome;
  readonly errorCode: string | undefined;
  readonly durationMs: number;
  readonly corrections: unknown;
  readonly correlationId: string;
}

/** Options of the `AuditWriter`. */
export interface AuditWriterOptions {
  config: AuditConfig;
  redactor: Redactor;
  logger: Logger;
  /** Counts dropped and written records (metrics hook). */
  onWritten?: (n: number) => void;
  onDropped?: (n: number) => void;
  now?: () => number;
}

const RETENTION_SWEEP_MS = 60 * 60 * 1000;
/** Records prepared (serialised, hashed, redacted) per event-loop turn when a batch is written. */
const PREPARE_PER_TURN = 500;
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Writes audit records asynchronously in batches: `record()` only appends to an in-memory queue; a timer (or a
 * full batch) flushes to the store in one transaction. A failed write keeps the batch and retries with backoff;
 * the queue is bounded (`maxQueue`) so a store outage cannot exhaust memory. `close()` — called by the gateway
 * after in-flight calls drained — writes everything still queued, so a graceful shutdown loses nothing.
 */
export class AuditWriter {
  private queue: AuditEntry[] = [];
  private store: Store | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retention: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: AuditWriterOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Records held in memory, not yet written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Attaches the store (opened asynchronously at start) and begins the flush and retention timers. */
  attach(store: Store): void {
    this.store = store;
    this.schedule(this.options.config.flushIntervalMs);
    void this.prune();
    this.retention = setInterval(() => void this.prune(), RETENTION_SWEEP_MS);
    this.retention.unref();
  }

  /** Queues one record (never waits, never throws). */
  record(entry: AuditEntry): void {
    if (this.queue.length >= this.options.config.maxQueue) {
      this.options.onDropped?.(1);
      if (this.queue.length === this.options.config.maxQueue)
        this.options.logger.error(
          { maxQueue: this.options.config.maxQueue },
          'audit queue full: records are being dropped',
        );
      return;
    }
    this.queue.push(entry);
    if (this.queue.length >= this.options.config.batchSize && this.flushing === undefined && this.failures === 0)
      void this.write(false);
  }

  /** Writes everything queued now (one batch at a time). */
  flush(): Promise<void> {
    return this.write(true);
  }

  /**
   * Starts a drain unless one runs. `all`: write everything (timer, close); otherwise only full batches — a busy
   * gateway then writes `batchSize` records per transaction instead of a stream of tiny ones.
   */
  private write(all: boolean): Promise<void> {
    this.flushing ??= this.drain(all).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Writes what is left, stops the timers. Waits for the store; a failing store is retried a few times. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.retention);
    for (let attempt = 0; attempt < 5 && this.queue.length > 0 && this.store !== undefined; attempt++) {
      await this.flush();
      if (this.queue.length > 0) await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
    if (this.queue.length > 0)
      this.options.logger.error({ lost: this.queue.length }, 'audit records could not be written before shutdown');
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.flush().finally(() => {
        const backoff =
          this.failures === 0
            ? this.options.config.flushIntervalMs
            : Math.min(MAX_RETRY_DELAY_MS, 500 * 2 ** this.failures);
        this.schedule(backoff);
      });
    }, ms);
    this.timer.unref();
  }

  private async drain(all: boolean): Promise<void> {
    const store = this.store;
    if (store === undefined) return;
    while (this.queue.length >= (all ? 1 : this.options.config.batchSize)) {
      const size = this.options.config.batchSize;
      const batch = this.queue.slice(0, size);
      const records: AuditRecord[] = [];
      for (let i = 0; i < batch.length; i++) {
        if (i > 0 && i % PREPARE_PER_TURN === 0) await nextTurn(); // a big batch never holds the event loop long
        records.push(this.toRecord(batch[i] as AuditEntry));
      }
      try {
        await store.appendAudit(records);
      } catch (err) {
        this.failures++;
        this.options.logger.warn(
          { err: (err as Error).message, pending: this.queue.length, failures: this.failures },
          'audit write failed; will retry',
        );
        return;
      }
      this.failures = 0;
      this.queue.splice(0, batch.length);
      this.options.onWritten?.(batch.length);
    }
  }

  private toRecord(e: AuditEntry): AuditRecord {
    const redactor = this.options.redactor;
    const argsText = stableStringify(e.arguments);
    const redacted = redactor.redactValue(e.arguments, 'mask', 'audit');
    // Nothing redacted: the canonical text already is the column value (one serialisation per record, not two).
    let args = redacted.kinds.length === 0 ? argsText : JSON.stringify(redacted.value);
    const max = this.options.config.maxArgumentBytes;
    if (args.length > max) args = `${args.slice(0, max)}…(truncated)`;
    const corrections =
      e.corrections === undefined ? null : JSON.stringify(redactor.redactValue(e.corrections, 'mask', 'audit').value);
    return {
      ts: e.ts,
      principal: e.principal,
      authMethod: e.authMethod,
      tenant: e.tenant ?? null,
      tool: e.tool,
      toolVersion: e.toolVersion,
      upstream: e.upstream,
      argsHash: hash('sha256', argsText),
      args,
      outcome: e.outcome,
      errorCode: e.errorCode ?? null,
      durationMs: Math.round(e.durationMs * 1000) / 1000,
      corrections,
      correlationId: e.correlationId,
    };
  }

  private async prune(): Promise<void> {
    const store = this.store;
    if (store === undefined) return;
    const before = this.now() - this.options.config.retentionDays * 86_400_000;
    try {
      const n = await store.pruneAudit(before);
      if (n > 0)
        this.options.logger.info(
          { deleted: n, retentionDays: this.options.config.retentionDays },
          'audit retention applied',
        );
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'audit retention sweep failed');
    }
  }
}
