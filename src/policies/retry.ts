import {
  DEFAULT_RETRY_ATTEMPTS,
  DEFAULT_RETRY_INITIAL_DELAY_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
  DEFAULT_RETRY_ON,
} from '../config/reliability-settings.js';
import { abortError, GatewayError, isGatewayError, type ErrorCode } from '../errors.js';
import type { Counter } from 'prom-client';
import type { Next, Policy, ToolAnnotations, ToolCall, ToolResult, UpstreamState } from '../types.js';
import { formatDelay } from './tool-error.js';

/** Options of the retry policy. */
export interface RetryPolicyOptions {
  /** Calls made in total, the first included. */
  readonly attempts?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** The call's time limit: no attempt starts, and no backoff ends, after `call.startedAt + timeoutMs`. */
  readonly timeoutMs: number;
  /** Optional tighter cap on the time spent on all attempts. */
  readonly budgetMs?: number;
  /** Codes retried. */
  readonly on?: readonly ErrorCode[];
  /** Also retry isError results of the upstream. */
  readonly errorResults?: boolean;
  /** Counts retries by tool and code. */
  readonly counter?: Counter<'tool' | 'code'>;
  /** Jitter source (tests); default `Math.random`. */
  readonly random?: () => number;
  /** Clock on the same base as `call.startedAt`; default `performance.now`. */
  readonly now?: () => number;
}

/**
 * Delay before retry `retry` (1 = the first retry): "full jitter" — uniform in [0, min(max, initial·2^(retry-1))] —
 * so that clients failing together spread out instead of retrying in lockstep.
 */
export function fullJitterDelay(
  retry: number,
  initialDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** True when a tool is safe to call twice: annotated read-only or idempotent, unless config says otherwise. */
export function isSafeToRepeat(annotations: ToolAnnotations | undefined, override: boolean | undefined): boolean {
  if (override !== undefined) return override;
  return annotations?.readOnlyHint === true || annotations?.idempotentHint === true;
}

/**
 * Retries transient failures with exponential backoff and full jitter. Only installed for tools that are safe to
 * repeat. A failure is retried when its code is in `on` (by default transport failures — network, HTTP 429/5xx —
 * and an upstream that is restarting), never when the deadline would pass first; a `retryAfterMs` from the
 * upstream (Retry-After) is a floor for the delay. When attempts run out after at least one retry, the call fails
 * with `TG_RETRY_EXHAUSTED` carrying the last error; with no retry made, the original error passes unchanged.
 */
export function createRetryPolicy(options: RetryPolicyOptions): Policy {
  const attempts = options.attempts ?? DEFAULT_RETRY_ATTEMPTS;
  const initialDelayMs = options.initialDelayMs ?? DEFAULT_RETRY_INITIAL_DELAY_MS;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS;
  const { timeoutMs, counter } = options;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new GatewayError('TG_CONFIG_INVALID', `retry: attempts must be an integer ≥ 1, got ${String(attempts)}`);
  for (const [k, v] of [
    ['initialDelayMs', initialDelayMs],
    ['maxDelayMs', maxDelayMs],
    ['timeoutMs', timeoutMs],
  ] as const) {
    if (!Number.isFinite(v) || v < 0)
      throw new GatewayError('TG_CONFIG_INVALID', `retry: ${k} must be ≥ 0, got ${String(v)}`);
  }
  const budgetMs = Math.min(timeoutMs, options.budgetMs ?? timeoutMs);
  const retryOn: ReadonlySet<string> = new Set(options.on ?? DEFAULT_RETRY_ON);
  const errorResults = options.errorResults === true;
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => performance.now());

  return async function retryPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    const deadline = call.startedAt + budgetMs;
    for (let attempt = 1; ; attempt++) {
      let failure: GatewayError | undefined;
      let result: ToolResult | undefined;
      try {
        result = await next(call);
        if (!(errorResults && result.isError === true && attempt < attempts)) return result;
      } catch (err) {
        // Not transient (or cancelled): whatever happened before, this error is the answer.
        if (!isGatewayError(err) || !retryOn.has(err.code) || call.signal.aborted) throw err;
        // An upstream marked down (or stopped) stays so for longer than any retry budget: fail now.
        if (GONE.has(call.target.upstream.state)) throw exhausted(err, attempt, call);
        if (attempt >= attempts) throw exhausted(err, attempt, call);
        failure = err;
      }
      const delay = Math.max(fullJitterDelay(attempt, initialDelayMs, maxDelayMs, random), failure?.retryAfterMs ?? 0);
      if (now() + delay >= deadline) {
        if (failure !== undefined) throw exhausted(failure, attempt, call);
        return result as ToolResult;
      }
      const code = failure?.code ?? 'error_result';
      counter?.inc({ tool: call.entry.name, code });
      call.log.info({ attempt, delayMs: delay, code }, 'retrying tool call');
      await sleep(delay, call.signal);
    }
  };
}

const GONE: ReadonlySet<UpstreamState> = new Set<UpstreamState>(['down', 'stopped', 'idle']);

/** The transient error that ended the attempts: unchanged when no retry was made, `TG_RETRY_EXHAUSTED` otherwise. */
function exhausted(err: GatewayError, attempts: number, call: ToolCall): GatewayError {
  if (attempts <= 1) return err;
  const hint = err.retryAfterMs === undefined ? 'Try again later' : `Try again in ${formatDelay(err.retryAfterMs)}`;
  const last = err.message.replace(/\s*(Try again|You may retry)[^.]*\.\s*$/i, '');
  return new GatewayError(
    'TG_RETRY_EXHAUSTED',
    `The tool "${call.entry.name}" failed ${attempts} times with temporary errors; the last one: ${last} ${hint}.`,
    {
      cause: err,
      data: { attempts, lastCode: err.code },
      ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    },
  );
}

/** Waits `ms`, or rejects with the abort reason (the timeout policy's `TG_TIMEOUT`, or a cancellation). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref?.();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
