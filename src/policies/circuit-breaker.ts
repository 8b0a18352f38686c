import { DEFAULT_TOOL_BREAKER, DEFAULT_UPSTREAM_BREAKER } from '../config/reliability-settings.js';
import { GatewayError, isGatewayError, type ErrorCode } from '../errors.js';
import type { Next, Policy, ToolCall, ToolResult } from '../types.js';
import type { ResilienceRegistry } from './resilience-registry.js';
import { formatDelay } from './tool-error.js';

/** The three states of a breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Where a breaker sits: one per tool, one per upstream shared by its tools. */
export type BreakerScope = 'tool' | 'upstream';

/** Options of one `CircuitBreaker`. */
export interface CircuitBreakerOptions {
  readonly scope: BreakerScope;
  /** Tool or upstream name (log fields, metric labels, messages). */
  readonly name: string;
  /** Failures in a row that open the breaker. */
  readonly consecutiveFailures: number;
  /** Failure ratio over the rolling window that opens it (undefined: consecutive failures only). */
  readonly failureRate?: number;
  /** Calls the window must hold before the rate is judged. */
  readonly minimumCalls: number;
  readonly windowMs: number;
  /** Time open before probes are let through. */
  readonly openMs: number;
  /** Probe calls in flight at once while half-open. */
  readonly halfOpenProbes: number;
  /** Config path of the settings, named in messages. */
  readonly source?: string;
  /** Clock (tests use fake timers); default `Date.now`. */
  readonly now?: () => number;
  /** Called on every state change (logging, metrics). */
  readonly onStateChange?: (breaker: CircuitBreaker, from: BreakerState, to: BreakerState) => void;
}

/** What a breaker lets through: a normal call, a probe, or nothing for this many milliseconds. */
export type Admission = 'pass' | 'probe' | number;

/** How a call ended, as far as breakers care. */
export type Outcome = 'success' | 'failure' | 'ignore';

const BUCKETS = 10;

/**
 * A circuit breaker. Closed: counts outcomes (consecutive failures, and failures over a rolling window of ten
 * buckets). Open: rejects at once until `openMs` has passed. Half-open: lets up to `halfOpenProbes` calls through;
 * a probe success closes it, a probe failure reopens it. Transitions happen on calls (no timers to clean up).
 */
export class CircuitBreaker {
  readonly options: CircuitBreakerOptions;
  private _state: BreakerState = 'closed';
  private consecutive = 0;
  private openUntil = 0;
  private probes = 0;
  /** Why it last opened, for the model-facing message. */
  private reason = '';
  private readonly now: () => number;
  private readonly bucketMs: number;
  private readonly ok = new Uint32Array(BUCKETS);
  private readonly bad = new Uint32Array(BUCKETS);
  private bucket = 0;
  private bucketEnds = 0;
  private total = 0;
  private failures = 0;

  constructor(options: CircuitBreakerOptions) {
    const { consecutiveFailures, failureRate, minimumCalls, windowMs, openMs, halfOpenProbes } = options;
    const positiveInt = (v: number): boolean => Number.isInteger(v) && v > 0;
    if (![consecutiveFailures, minimumCalls, windowMs, openMs, halfOpenProbes].every(positiveInt)) {
      throw new GatewayError(
        'TG_CONFIG_INVALID',
        `circuit breaker ${options.scope} ${options.name}: counts and durations must be positive integers`,
      );
    }
    if (failureRate !== undefined && !(failureRate > 0 && failureRate <= 1)) {
      throw new GatewayError(
        'TG_CONFIG_INVALID',
        `circuit breaker ${options.scope} ${options.name}: failureRate must be in (0, 1]`,
      );
    }
    this.options = options;
    this.now = options.now ?? Date.now;
    this.bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  get state(): BreakerState {
    return this._state;
  }

  /** True when a call now would be rejected (the fallback policy asks before choosing a target). */
  isRejecting(): boolean {
    if (this._state === 'closed') return false;
    if (this._state === 'open') return this.now() < this.openUntil;
    return this.probes >= this.options.halfOpenProbes;
  }

  /** Asks to let a call through; a `probe` admission must be reported back with `record(…, true)`. */
  admit(): Admission {
    if (this._state === 'closed') return 'pass';
    const now = this.now();
    if (this._state === 'open') {
      if (now < this.openUntil) return this.openUntil - now;
      this.transition('half-open');
    }
    if (this.probes < this.options.halfOpenProbes) {
      this.probes++;
      return 'probe';
    }
    // Probes are out: callers get a short hint rather than the full open period.
    return Math.min(this.options.openMs, 1000);
  }

  /** Reports how an admitted call ended. */
  record(outcome: Outcome, probe: boolean): void {
    if (probe) {
      this.probes = Math.max(0, this.probes - 1);
      if (this._state !== 'half-open' || outcome === 'ignore') return;
      if (outcome === 'success') this.close();
      else this.open('a trial call after the pause failed too');
      return;
    }
    // A call admitted while closed that ends after the breaker opened says nothing new.
    if (this._state !== 'closed' || outcome === 'ignore') return;
    this.advance(this.now());
    this.total++;
    if (outcome === 'success') {
      this.consecutive = 0;
      this.ok[this.bucket] = (this.ok[this.bucket] ?? 0) + 1;
      return;
    }
    this.consecutive++;
    this.failures++;
    this.bad[this.bucket] = (this.bad[this.bucket] ?? 0) + 1;
    const { consecutiveFailures, failureRate, minimumCalls, windowMs } = this.options;
    if (this.consecutive >= consecutiveFailures) {
      this.open(`failed ${this.consecutive} times in a row`);
    } else if (failureRate !== undefined && this.total >= minimumCalls && this.failures / this.total >= failureRate) {
      this.open(`failed ${this.failures} of its last ${this.total} calls within ${formatDelay(windowMs)}`);
    }
  }

  /** The error a rejected call fails with. */
  rejection(toolName: string, retryAfterMs: number): GatewayError {
    const { scope, name, source } = this.options;
    const what = scope === 'upstream' ? `its upstream "${name}"` : 'it';
    const why =
      this._state === 'half-open'
        ? 'toolgate is trying it again with a few calls first'
        : `${what} ${this.reason}, so toolgate stopped sending calls for a while`;
    return new GatewayError(
      'TG_CIRCUIT_OPEN',
      `The tool "${toolName}" is temporarily unavailable: ${why} (circuit breaker${source === undefined ? '' : `, ${source}`}). Try again in ${formatDelay(retryAfterMs)}.`,
      { retryAfterMs, data: { scope, name, state: this._state } },
    );
  }

  private open(reason: string): void {
    this.reason = reason;
    this.openUntil = this.now() + this.options.openMs;
    this.transition('open');
  }

  private close(): void {
    this.consecutive = 0;
    this.total = 0;
    this.failures = 0;
    this.ok.fill(0);
    this.bad.fill(0);
    this.transition('closed');
  }

  private transition(to: BreakerState): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.options.onStateChange?.(this, from, to);
  }

  /** Moves the rolling window to `now`, clearing buckets that fell out of it. */
  private advance(now: number): void {
    if (now < this.bucketEnds) return;
    const steps = Math.min(BUCKETS, Math.floor((now - this.bucketEnds) / this.bucketMs) + 1);
    for (let i = 0; i < steps; i++) {
      this.bucket = (this.bucket + 1) % BUCKETS;
      this.total -= this.ok[this.bucket] as number;
      this.total -= this.bad[this.bucket] as number;
      this.failures -= this.bad[this.bucket] as number;
      this.ok[this.bucket] = 0;
      this.bad[this.bucket] = 0;
    }
    this.bucketEnds = now - ((now - this.bucketEnds) % this.bucketMs) + this.bucketMs;
  }
}

/** Upstream failures that count against a breaker by default. Everything else toolgate raises is ignored. */
const FAILURE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TG_UPSTREAM_TRANSPORT',
  'TG_UPSTREAM_CRASHED',
  'TG_UPSTREAM_UNAVAILABLE',
  'TG_UPSTREAM_PROTOCOL',
  'TG_UPSTREAM_ERROR',
  'TG_TIMEOUT',
  'TG_TOOL_INTERNAL',
]);

/** JSON-RPC codes by which an upstream says the caller was wrong (invalid params, unknown method). */
const CALLER_FAULT_RPC_CODES: ReadonlySet<unknown> = new Set([-32602, -32601]);

/**
 * Classifies a failed call for breakers: upstream failures (transport, crash, unavailable, protocol, timeout, a
 * JSON-RPC error that is not "invalid params") count; the caller's own faults (invalid arguments, denied, rate
 * limited, cancelled) and toolgate's load shedding (circuit open, concurrency limit) are ignored. Errors that are
 * not `GatewayError`s are unexpected failures on the call path and count.
 */
export function classifyFailure(err: unknown): Outcome {
  if (!isGatewayError(err)) return 'failure';
  if (!FAILURE_CODES.has(err.code)) return 'ignore';
  if (err.code === 'TG_UPSTREAM_ERROR' && CALLER_FAULT_RPC_CODES.has(err.data?.['upstreamCode'])) return 'ignore';
  return 'failure';
}

/** Options of the circuit-breaker policy. */
export interface CircuitBreakerPolicyOptions {
  /** Namespaced tool name (messages). */
  readonly toolName: string;
  /** The tool's own upstream: calls redirected elsewhere (fallback) use that upstream's breaker instead. */
  readonly upstreamName: string;
  readonly tool?: CircuitBreaker;
  readonly upstream?: CircuitBreaker;
  /** Where breakers of other upstreams are found, for redirected calls. */
  readonly registry?: ResilienceRegistry;
  /** Count the upstream's isError results as failures. */
  readonly countErrorResults?: boolean;
}

/**
 * Fails calls fast while the tool's or its upstream's breaker is open, and feeds both breakers with each call's
 * outcome. A rejected call never reaches the upstream (nor the concurrency queue inside this policy).
 */
export function createCircuitBreakerPolicy(options: CircuitBreakerPolicyOptions): Policy {
  const { toolName, upstreamName, tool, upstream, registry } = options;
  const countErrorResults = options.countErrorResults === true;
  return async function circuitBreakerPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    const own = call.target.upstream.name === upstreamName;
    const ub = own ? upstream : registry?.findBreaker('upstream', call.target.upstream.name);
    const tb = own ? tool : undefined;
    const ua = ub === undefined ? 'pass' : ub.admit();
    if (typeof ua === 'number') throw (ub as CircuitBreaker).rejection(toolName, ua);
    const ta = tb === undefined ? 'pass' : tb.admit();
    if (typeof ta === 'number') {
      if (ua === 'probe') ub?.record('ignore', true);
      throw (tb as CircuitBreaker).rejection(toolName, ta);
    }
    try {
      const result = await next(call);
      settle(countErrorResults && result.isError === true ? 'failure' : 'success', ub, ua, tb, ta);
      return result;
    } catch (err) {
      settle(classifyFailure(err), ub, ua, tb, ta);
      throw err;
    }
  };
}

function settle(
  outcome: Outcome,
  ub: CircuitBreaker | undefined,
  ua: Admission,
  tb: CircuitBreaker | undefined,
  ta: Admission,
): void {
  ub?.record(outcome, ua === 'probe');
  tb?.record(outcome, ta === 'probe');
}

/** Breaker options of one level from merged settings (defaults filled), or undefined when that level is off. */
export function breakerOptions(
  scope: BreakerScope,
  name: string,
  level:
    | {
        enabled?: boolean;
        consecutiveFailures?: number;
        failureRate?: number;
        minimumCalls?: number;
        windowMs?: number;
        openMs?: number;
        halfOpenProbes?: number;
      }
    | undefined,
  source: string,
): Omit<CircuitBreakerOptions, 'onStateChange' | 'now'> | undefined {
  if (level?.enabled === false) return undefined;
  const d = scope === 'tool' ? DEFAULT_TOOL_BREAKER : DEFAULT_UPSTREAM_BREAKER;
  const out = {
    scope,
    name,
    consecutiveFailures: level?.consecutiveFailures ?? d.consecutiveFailures,
    minimumCalls: level?.minimumCalls ?? d.minimumCalls,
    windowMs: level?.windowMs ?? d.windowMs,
    openMs: level?.openMs ?? d.openMs,
    halfOpenProbes: level?.halfOpenProbes ?? d.halfOpenProbes,
    source,
  };
  return level?.failureRate === undefined ? out : { ...out, failureRate: level.failureRate };
}
