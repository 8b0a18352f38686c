import { DEFAULT_QUEUE_MAX_WAIT_MS } from '../config/reliability-settings.js';
import { abortError, GatewayError } from '../errors.js';
import type { Next, Policy, ToolCall, ToolResult } from '../types.js';
import type { ResilienceRegistry } from './resilience-registry.js';
import { formatDelay } from './tool-error.js';

/** Options of one `ConcurrencyLimiter`. */
export interface ConcurrencyLimiterOptions {
  readonly scope: 'tool' | 'upstream';
  /** Tool or upstream name (messages, metric labels). */
  readonly name: string;
  readonly maxConcurrent: number;
  /** Calls that may wait for a slot (0: over the limit fails at once). */
  readonly maxQueue: number;
  readonly maxWaitMs: number;
  /** Config path of the settings, named in messages. */
  readonly source?: string;
  /** Clock; default `performance.now`. */
  readonly now?: () => number;
  /** Called when a queued call gets its slot, with how long it waited. */
  readonly onWait?: (waitedMs: number) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  enqueuedAt: number;
  done: boolean;
}

const MIN_HINT_MS = 50;
const MAX_HINT_MS = 60_000;
const NO_SAMPLE_HINT_MS = 1000;

/**
 * A counting semaphore with a bounded FIFO queue and a maximum wait. `acquire` returns `undefined` when a slot is
 * free (the common case costs no promise), a promise when the call must wait, and throws `TG_CONCURRENCY_LIMIT`
 * when the queue is full; a waiting call fails with the same code after `maxWaitMs`, or with its abort reason.
 */
export class ConcurrencyLimiter {
  readonly options: ConcurrencyLimiterOptions;
  private active = 0;
  private queued = 0;
  private queue: Waiter[] = [];
  private head = 0;
  /** Moving average of how long a slot is held, for the retry hint. */
  private holdMs = 0;
  private readonly now: () => number;

  constructor(options: ConcurrencyLimiterOptions) {
    const { maxConcurrent, maxQueue, maxWaitMs } = options;
    if (
      !Number.isInteger(maxConcurrent) ||
      maxConcurrent < 1 ||
      !Number.isInteger(maxQueue) ||
      maxQueue < 0 ||
      !Number.isInteger(maxWaitMs) ||
      maxWaitMs < 0
    ) {
      throw new GatewayError(
        'TG_CONFIG_INVALID',
        `concurrency ${options.scope} ${options.name}: maxConcurrent ≥ 1, maxQueue ≥ 0 and maxWaitMs ≥ 0 must be integers`,
      );
    }
    this.options = options;
    this.now = options.now ?? (() => performance.now());
  }

  /** Calls holding a slot. */
  get inFlight(): number {
    return this.active;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.queued;
  }

  /** Takes a slot now (undefined), or a promise of one; throws when the queue is full. */
  acquire(toolName: string, signal: AbortSignal): Promise<void> | undefined {
    if (this.active < this.options.maxConcurrent && this.queued === 0) {
      this.active++;
      return undefined;
    }
    if (signal.aborted) throw abortError(signal);
    if (this.queued >= this.options.maxQueue || this.options.maxWaitMs === 0) throw this.rejection(toolName, 'full', 0);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, enqueuedAt: this.now(), done: false };
      const finish = (err: Error | undefined): void => {
        if (waiter.done) return;
        waiter.done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (err === undefined) {
          this.options.onWait?.(this.now() - waiter.enqueuedAt);
          resolve();
        } else {
          this.queued--;
          reject(err);
        }
      };
      const onAbort = (): void => finish(abortError(signal));
      const timer = setTimeout(
        () => finish(this.rejection(toolName, 'timeout', this.now() - waiter.enqueuedAt)),
        this.options.maxWaitMs,
      );
      timer.unref?.();
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.resolve = () => finish(undefined);
      this.queue.push(waiter);
      this.queued++;
    });
  }

  /** Gives a slot back (with how long it was held) and hands it to the next waiter. */
  release(heldMs: number): void {
    this.holdMs = this.holdMs === 0 ? heldMs : this.holdMs * 0.8 + heldMs * 0.2;
    while (this.head < this.queue.length) {
      const w = this.queue[this.head] as Waiter;
      this.queue[this.head++] = undefined as unknown as Waiter;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (w.done) continue; // timed out or aborted while queued (already counted out)
      this.queued--;
      w.resolve(); // the slot passes straight to the waiter: `active` is unchanged
      return;
    }
    this.active--;
  }

  /** A guess of when a slot frees up for a new caller. */
  retryAfterMs(): number {
    if (this.holdMs === 0) return NO_SAMPLE_HINT_MS;
    const rounds = Math.ceil((this.queued + 1) / this.options.maxConcurrent);
    return Math.round(Math.min(MAX_HINT_MS, Math.max(MIN_HINT_MS, this.holdMs * rounds)));
  }

  private rejection(toolName: string, why: 'full' | 'timeout', waitedMs: number): GatewayError {
    const { scope, name, maxConcurrent, maxQueue, source } = this.options;
    const subject =
      scope === 'tool'
        ? `The tool "${toolName}" is busy`
        : `The tool "${toolName}" is busy: its upstream "${name}" is at capacity`;
    const calls = (n: number): string => `${n} call${n === 1 ? '' : 's'}`;
    const limit = `${calls(this.active)} running, limit ${maxConcurrent}${source === undefined ? '' : ` (${source})`}`;
    const detail =
      why === 'timeout'
        ? `${limit}; this call waited ${formatDelay(waitedMs)} without getting a turn`
        : maxQueue === 0
          ? limit
          : `${limit}, and ${calls(this.queued)} already waiting`;
    const retryAfterMs = this.retryAfterMs();
    return new GatewayError(
      'TG_CONCURRENCY_LIMIT',
      `${subject} (${detail}). Try again in ${formatDelay(retryAfterMs)}.`,
      {
        retryAfterMs,
        data: { scope, name, reason: why, maxConcurrent },
      },
    );
  }
}

/** Options of the concurrency policy. */
export interface ConcurrencyPolicyOptions {
  readonly upstreamName: string;
  readonly tool?: ConcurrencyLimiter;
  readonly upstream?: ConcurrencyLimiter;
  /** Where limiters of other upstreams are found, for calls the fallback policy redirected. */
  readonly registry?: ResilienceRegistry;
}

/**
 * Bounds concurrent calls per tool and per upstream. The tool slot is taken first, then the upstream slot (always
 * in that order, so two limits cannot deadlock); both are held only while the call is at the upstream — never
 * during a retry's backoff, which runs outside this policy.
 */
export function createConcurrencyPolicy(options: ConcurrencyPolicyOptions): Policy {
  const { upstreamName, tool, upstream, registry } = options;
  return async function concurrencyPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    const ul = call.target.upstream.name === upstreamName ? upstream : registry?.findLimiter(call.target.upstream.name);
    const toolWait = tool?.acquire(call.entry.name, call.signal);
    if (toolWait !== undefined) await toolWait;
    const started = performance.now();
    try {
      const upWait = ul?.acquire(call.entry.name, call.signal);
      if (upWait !== undefined) await upWait;
      const upStarted = performance.now();
      try {
        return await next(call);
      } finally {
        ul?.release(performance.now() - upStarted);
      }
    } finally {
      tool?.release(performance.now() - started);
    }
  };
}

/** Limiter options from settings, with defaults, or undefined when no limit is set. */
export function limiterOptions(
  scope: 'tool' | 'upstream',
  name: string,
  limit: { maxConcurrent: number; maxQueue?: number; maxWaitMs?: number } | undefined,
  source: string,
): Omit<ConcurrencyLimiterOptions, 'onWait' | 'now'> | undefined {
  if (limit === undefined) return undefined;
  return {
    scope,
    name,
    maxConcurrent: limit.maxConcurrent,
    maxQueue: limit.maxQueue ?? 0,
    maxWaitMs: limit.maxWaitMs ?? DEFAULT_QUEUE_MAX_WAIT_MS,
    source,
  };
}
