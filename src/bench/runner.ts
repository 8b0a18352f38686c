/**
 * The load loop. `concurrency` workers share one request counter. Closed model (default): each worker sends its
 * next request as soon as the previous one ends. Open model (`--rate`): request i is due at start + i/rate, and
 * its latency is measured from that intended time, not from when a free worker finally sent it — so a stalled
 * target shows up as latency instead of silently lowering the send rate (coordinated omission).
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleepTimer } from 'node:timers/promises';
import type { PreparedOperation } from './operations.js';
import { MessageCounter, OpStats, TimeSeries } from './stats.js';
import type { BenchTarget, CallOutcome } from './target.js';

/** Time source and sleep, injectable so the schedule logic can be tested with fake timers. */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The real clock: `performance.now()` and timer sleeps. */
export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleepTimer(ms, undefined, { signal }).catch(() => undefined),
};

/** How much load, for how long. */
export interface LoadPlan {
  concurrency: number;
  /** Measured requests (after warm-up); undefined in pure duration mode. */
  requests: number | undefined;
  /** Measurement length in ms; undefined in pure count mode. */
  durationMs: number | undefined;
  /** Requests sent first and left out of every statistic (JIT, connection pools, caches). */
  warmup: number;
  /** Open-model send rate (requests/s across all workers); undefined for the closed model. */
  ratePerSec: number | undefined;
  /** Per-call timeout. */
  timeoutMs: number;
  /** Hard bound on the whole run, whatever else is set. */
  timeLimitMs: number;
}

/** Why the run stopped issuing requests. */
export type StopReason = 'completed' | 'duration' | 'time-limit' | 'interrupted' | 'target-failed' | 'unreachable';

/** The numbers of one run against one target. */
export interface RunResult {
  plan: LoadPlan;
  stopReason: StopReason;
  /** Detail of a `target-failed`/`unreachable` stop. */
  stopDetail: string | undefined;
  /** Measured requests sent (warm-up excluded). */
  sent: number;
  /** Measured requests finished (answered, failed or timed out). */
  completed: number;
  warmupCompleted: number;
  /** Measurement window: first measured (intended) send → last measured completion, ms. */
  windowMs: number;
  /** Completed measured requests per second over the window. */
  throughput: number;
  overall: OpStats;
  perOp: Map<string, OpStats>;
  series: TimeSeries;
  topErrors: Array<{ message: string; count: number }>;
  /** Open model only: the largest delay between a request's intended and actual send, ms. */
  maxSendLagMs: number;
  unmatchedResponses: number;
  lateResponses: number;
  sessionReinits: number;
}

/** A live view for the progress line. */
export interface RunProgress {
  elapsedMs: number;
  completed: number;
  errors: number;
  p99Ms: number;
}

/** Calls that fail at the transport with no success at all before the run gives up on the target. */
const UNREACHABLE_AFTER = 100;

/** Timeout granularity: slots and sweeps every `timeout / 20`, between 5 and 100 ms. */
function sweepIntervalMs(timeoutMs: number): number {
  return Math.min(100, Math.max(5, timeoutMs / 20));
}

/** A timeout reason object, so the abort is recognisable in traces. */
const TIMEOUT = new Error('bench per-call timeout');

/**
 * Per-call timeouts without a timer or an AbortController per call. Calls sent within the same short slot share
 * one controller whose deadline is the slot's end plus the timeout, so each call gets at least its full timeout
 * (at most one slot more). Every call has the same timeout, so slots expire in send order and one periodic
 * sweep aborts the expired ones at the head of the queue. Aborting a slot whose calls all ended does nothing.
 */
export class DeadlineSlots {
  private slots: Array<{ deadline: number; controller: AbortController }> = [];
  private head = 0;
  private current: { end: number; controller: AbortController } | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly slotMs: number,
  ) {}

  /** The signal for a call sent at `now`. */
  signalFor(now: number): AbortSignal {
    if (this.current === undefined || now >= this.current.end) {
      const controller = new AbortController();
      setMaxListeners(0, controller.signal); // every call in the slot listens on it: many listeners by design
      const end = now + this.slotMs;
      this.current = { end, controller };
      this.slots.push({ deadline: end + this.timeoutMs, controller });
    }
    return this.current.controller.signal;
  }

  /** Aborts every slot whose deadline has passed. */
  sweep(now: number): void {
    while (this.head < this.slots.length) {
      const slot = this.slots[this.head]!;
      if (slot.deadline > now) break;
      slot.controller.abort(TIMEOUT);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }
}

/** Runs one measured load against a connected target. */
export class LoadRunner {
  private issued = 0;
  private sent = 0;
  private completed = 0;
  private warmupCompleted = 0;
  private errors = 0;
  private okSeen = 0;
  private consecutiveTransport = 0;
  private measureStart: number | undefined;
  private lastEnd: number | undefined;
  private maxLag = 0;
  private runStart = 0;
  private stopReason: StopReason | undefined;
  private stopDetail: string | undefined;
  private readonly stopController = new AbortController();
  private readonly overall = new OpStats();
  private readonly perOp = new Map<string, OpStats>();
  private readonly series = new TimeSeries();
  private readonly messages = new MessageCounter();
  private readonly deadlines: DeadlineSlots;

  constructor(
    private readonly target: BenchTarget,
    private readonly plan: LoadPlan,
    private readonly pick: () => PreparedOperation,
    private readonly clock: Clock = systemClock,
  ) {
    this.deadlines = new DeadlineSlots(plan.timeoutMs, sweepIntervalMs(plan.timeoutMs));
    setMaxListeners(0, this.stopController.signal); // every sleeping worker listens on it
  }

  /** Stops issuing new requests; in-flight ones finish or time out. */
  stop(reason: StopReason, detail?: string): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.stopDetail = detail;
    this.stopController.abort();
  }

  /** A live view (cheap enough to call once a second). */
  progress(): RunProgress {
    return {
      elapsedMs: this.clock.now() - this.runStart,
      completed: this.completed,
      errors: this.errors,
      p99Ms: this.overall.latency.percentile(99) / 1000,
    };
  }

  /** Runs the plan to its end and returns the figures. */
  async run(): Promise<RunResult> {
    const plan = this.plan;
    this.runStart = this.clock.now();
    if (plan.ratePerSec !== undefined) this.measureStart = this.runStart + (plan.warmup * 1000) / plan.ratePerSec;
    const sweeper = setInterval(() => this.deadlines.sweep(this.clock.now()), sweepIntervalMs(plan.timeoutMs));
    const limit = setTimeout(() => this.stop('time-limit'), plan.timeLimitMs);
    try {
      await Promise.all(Array.from({ length: Math.max(1, plan.concurrency) }, () => this.worker()));
    } finally {
      clearInterval(sweeper);
      clearTimeout(limit);
    }
    const windowMs =
      this.measureStart !== undefined && this.lastEnd !== undefined ? Math.max(0, this.lastEnd - this.measureStart) : 0;
    return {
      plan,
      stopReason:
        this.stopReason ?? (plan.requests !== undefined && this.sent >= plan.requests ? 'completed' : 'duration'),
      stopDetail: this.stopDetail,
      sent: this.sent,
      completed: this.completed,
      warmupCompleted: this.warmupCompleted,
      windowMs,
      throughput: windowMs > 0 ? (this.completed / windowMs) * 1000 : 0,
      overall: this.overall,
      perOp: this.perOp,
      series: this.series,
      topErrors: this.messages.top(),
      maxSendLagMs: this.maxLag,
      unmatchedResponses: this.target.unmatchedResponses,
      lateResponses: this.target.lateResponses,
      sessionReinits: this.target.sessionReinits,
    };
  }

  /** May request `i` (0-based, warm-up first) still be sent at time `now`? */
  private mayIssue(i: number, now: number): boolean {
    const { warmup, requests, durationMs } = this.plan;
    if (i < warmup) return true;
    if (requests !== undefined && i >= warmup + requests) return false;
    if (durationMs !== undefined && this.measureStart !== undefined && now >= this.measureStart + durationMs)
      return false;
    return true;
  }

  private async worker(): Promise<void> {
    const { ratePerSec, warmup } = this.plan;
    const interval = ratePerSec === undefined ? 0 : 1000 / ratePerSec;
    while (this.stopReason === undefined) {
      const i = this.issued;
      // Open model: the schedule, not the clock, decides what falls inside the window, so a request that is
      // due inside it is still sent (late) when the target has fallen behind.
      let intended = ratePerSec === undefined ? this.clock.now() : this.runStart + i * interval;
      if (!this.mayIssue(i, intended)) return;
      this.issued++;
      if (ratePerSec !== undefined) {
        // Timers may fire up to a millisecond early against the high-resolution clock: sleep again rather than
        // send before the request is due (its latency would come out shorter than it was).
        for (
          let wait = intended - this.clock.now();
          wait > 0 && this.stopReason === undefined;
          wait = intended - this.clock.now()
        ) {
          await this.clock.sleep(wait, this.stopController.signal);
        }
        if (this.stopReason !== undefined) return;
      } else {
        intended = this.clock.now();
        if (i === warmup) this.measureStart = intended;
      }
      const measured = i >= warmup;
      const sentAt = this.clock.now();
      if (measured) {
        this.sent++;
        if (sentAt - intended > this.maxLag) this.maxLag = sentAt - intended;
      }
      const op = this.pick();
      const outcome = await this.target.call(op, this.deadlines.signalFor(sentAt));
      const end = this.clock.now();
      if (measured) this.record(op, outcome, end, end - intended, end - sentAt);
      else this.warmupCompleted++;
      this.watchTarget(outcome);
    }
  }

  private record(op: PreparedOperation, outcome: CallOutcome, end: number, latencyMs: number, serviceMs: number): void {
    this.completed++;
    this.lastEnd = Math.max(this.lastEnd ?? end, end);
    let stats = this.perOp.get(op.label);
    if (stats === undefined) {
      stats = new OpStats();
      this.perOp.set(op.label, stats);
    }
    stats.record(outcome, latencyMs, serviceMs);
    this.overall.record(outcome, latencyMs, serviceMs);
    const answered = outcome.kind !== 'timeout' && outcome.kind !== 'transport_error';
    const isError = outcome.kind !== 'ok';
    if (isError) {
      this.errors++;
      this.messages.add(messageOf(outcome));
    }
    this.series.record(end - (this.measureStart ?? end), isError, answered ? latencyMs * 1000 : undefined);
  }

  private watchTarget(outcome: CallOutcome): void {
    if (outcome.kind === 'transport_error') this.consecutiveTransport++;
    else {
      this.consecutiveTransport = 0;
      this.okSeen++;
    }
    const failure = this.target.failure;
    if (failure !== undefined) this.stop('target-failed', failure);
    else if (this.okSeen === 0 && this.consecutiveTransport >= UNREACHABLE_AFTER) {
      this.stop('unreachable', `${UNREACHABLE_AFTER} transport errors in a row and no answer yet`);
    }
  }
}

function messageOf(o: CallOutcome): string {
  switch (o.kind) {
    case 'tool_error':
      return `tool error: ${o.message}`;
    case 'rpc_error':
      return `JSON-RPC ${o.code}: ${o.message}`;
    case 'transport_error':
      return `transport ${o.reason}: ${o.message}`;
    case 'invalid':
      return `invalid answer: ${o.reason}`;
    case 'timeout':
      return 'timeout';
    case 'ok':
      return 'ok';
  }
}
