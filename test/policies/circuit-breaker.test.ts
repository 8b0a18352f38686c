import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError, type ErrorCode } from '../../src/errors.js';
import {
  CircuitBreaker,
  classifyFailure,
  createCircuitBreakerPolicy,
  type CircuitBreakerOptions,
} from '../../src/policies/circuit-breaker.js';
import { ResilienceRegistry } from '../../src/policies/resilience-registry.js';
import type { ToolResult } from '../../src/types.js';
import { fakeUpstream, log, makeCall, newMetrics, textResult } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function breaker(options: Partial<CircuitBreakerOptions> = {}): { b: CircuitBreaker; changes: string[] } {
  const changes: string[] = [];
  const b = new CircuitBreaker({
    scope: 'tool',
    name: 'up__tool',
    consecutiveFailures: 3,
    minimumCalls: 10,
    windowMs: 10_000,
    openMs: 5000,
    halfOpenProbes: 1,
    onStateChange: (_b, from, to) => changes.push(`${from}>${to}`),
    ...options,
  });
  return { b, changes };
}

/** Breaker settings of one level, short open period. */
const level = (scope: 'tool' | 'upstream', name: string, consecutiveFailures: number) => ({
  scope,
  name,
  consecutiveFailures,
  minimumCalls: 10,
  windowMs: 1000,
  openMs: 1000,
  halfOpenProbes: 1,
});

const fail = (b: CircuitBreaker, n = 1): void => {
  for (let i = 0; i < n; i++) b.record('failure', b.admit() === 'probe');
};
const succeed = (b: CircuitBreaker, n = 1): void => {
  for (let i = 0; i < n; i++) b.record('success', b.admit() === 'probe');
};

describe('circuit breaker transitions', () => {
  it('opens after consecutive failures, rejects with the remaining time, half-opens, and closes on a probe success', () => {
    const { b, changes } = breaker();
    fail(b, 2);
    succeed(b); // a success resets the run
    fail(b, 2);
    expect(b.state).toBe('closed');
    fail(b);
    expect(b.state).toBe('open');
    expect(b.admit()).toBe(5000);
    vi.advanceTimersByTime(3000);
    expect(b.admit()).toBe(2000);
    expect(b.isRejecting()).toBe(true);
    vi.advanceTimersByTime(2000);
    expect(b.isRejecting()).toBe(false);
    expect(b.admit()).toBe('probe');
    expect(b.state).toBe('half-open');
    expect(typeof b.admit()).toBe('number'); // only one probe at a time
    b.record('success', true);
    expect(b.state).toBe('closed');
    expect(b.admit()).toBe('pass');
    expect(changes).toEqual(['closed>open', 'open>half-open', 'half-open>closed']);
  });

  it('reopens for a full period when a probe fails', () => {
    const { b, changes } = breaker();
    fail(b, 3);
    vi.advanceTimersByTime(5000);
    expect(b.admit()).toBe('probe');
    b.record('failure', true);
    expect(b.state).toBe('open');
    expect(b.admit()).toBe(5000);
    expect(changes).toEqual(['closed>open', 'open>half-open', 'half-open>open']);
  });

  it('bounds concurrent probes and frees a probe slot when its call is ignored', () => {
    const { b } = breaker({ halfOpenProbes: 2 });
    fail(b, 3);
    vi.advanceTimersByTime(5000);
    expect(b.admit()).toBe('probe');
    expect(b.admit()).toBe('probe');
    expect(typeof b.admit()).toBe('number');
    b.record('ignore', true); // e.g. the caller cancelled
    expect(b.state).toBe('half-open');
    expect(b.admit()).toBe('probe');
  });

  it('opens on the failure rate over the rolling window once it holds enough calls', () => {
    const { b } = breaker({ consecutiveFailures: 100, failureRate: 0.5, minimumCalls: 10 });
    for (let i = 0; i < 4; i++) {
      fail(b);
      succeed(b);
    }
    fail(b); // 5 of 9: not enough calls yet
    expect(b.state).toBe('closed');
    succeed(b); // the rate is judged when a failure is recorded
    fail(b); // 6 of 11 ≥ 0.5
    expect(b.state).toBe('open');
  });

  it('forgets failures that left the window', () => {
    const { b } = breaker({ consecutiveFailures: 100, failureRate: 0.5, minimumCalls: 4, windowMs: 10_000 });
    fail(b, 3);
    vi.advanceTimersByTime(11_000); // all three are older than the window
    succeed(b, 3);
    fail(b); // 1 of 4
    expect(b.state).toBe('closed');
  });

  it('ignores outcomes of calls admitted before it opened', () => {
    const { b } = breaker();
    const late = b.admit();
    fail(b, 3);
    b.record('success', late === 'probe');
    expect(b.state).toBe('open');
  });

  it('rejects bad options at creation', () => {
    expect(() => breaker({ consecutiveFailures: 0 })).toThrow(/positive integers/);
    expect(() => breaker({ failureRate: 1.5 })).toThrow(/failureRate/);
  });
});

describe('failure classification', () => {
  it('counts upstream failures and ignores the caller’s faults and toolgate’s own refusals', () => {
    const err = (code: ErrorCode, data?: Record<string, unknown>) =>
      new GatewayError(code, 'x', data === undefined ? {} : { data });
    for (const code of [
      'TG_UPSTREAM_TRANSPORT',
      'TG_UPSTREAM_CRASHED',
      'TG_UPSTREAM_UNAVAILABLE',
      'TG_UPSTREAM_PROTOCOL',
      'TG_TIMEOUT',
    ] as const) {
      expect(classifyFailure(err(code)), code).toBe('failure');
    }
    for (const code of [
      'TG_INVALID_ARGUMENTS',
      'TG_DENIED',
      'TG_RATE_LIMITED',
      'TG_CANCELLED',
      'TG_CIRCUIT_OPEN',
      'TG_CONCURRENCY_LIMIT',
    ] as const) {
      expect(classifyFailure(err(code)), code).toBe('ignore');
    }
    expect(classifyFailure(err('TG_UPSTREAM_ERROR', { upstreamCode: -32603 }))).toBe('failure');
    expect(classifyFailure(err('TG_UPSTREAM_ERROR', { upstreamCode: -32602 }))).toBe('ignore');
    expect(classifyFailure(new Error('bug'))).toBe('failure');
  });
});

describe('circuit-breaker policy', () => {
  const failing = async (): Promise<ToolResult> => {
    throw new GatewayError('TG_UPSTREAM_TRANSPORT', 'The upstream "up" answered HTTP 503.');
  };

  it('fails fast with TG_CIRCUIT_OPEN saying when to retry, without calling the upstream', async () => {
    const { b } = breaker({ source: 'defaults.circuitBreaker.tool' });
    const policy = createCircuitBreakerPolicy({ toolName: 'up__tool', upstreamName: 'up', tool: b });
    for (let i = 0; i < 3; i++)
      await expect(policy(makeCall(), failing)).rejects.toMatchObject({ code: 'TG_UPSTREAM_TRANSPORT' });
    let called = 0;
    const err = await policy(makeCall(), async () => {
      called++;
      return textResult('ok');
    }).catch((e: unknown) => e);
    expect(called).toBe(0);
    expect(err).toMatchObject({
      code: 'TG_CIRCUIT_OPEN',
      retryAfterMs: 5000,
      data: { scope: 'tool', name: 'up__tool', state: 'open' },
    });
    expect((err as Error).message).toBe(
      'The tool "up__tool" is temporarily unavailable: it failed 3 times in a row, so toolgate stopped sending calls for a while (circuit breaker, defaults.circuitBreaker.tool). Try again in 5 s.',
    );
  });

  it('shares the upstream breaker between tools and names the upstream', async () => {
    const registry = new ResilienceRegistry(log, newMetrics());
    const shared = registry.breaker(level('upstream', 'up', 2));
    const a = createCircuitBreakerPolicy({ toolName: 'up__a', upstreamName: 'up', upstream: shared, registry });
    const b = createCircuitBreakerPolicy({ toolName: 'up__b', upstreamName: 'up', upstream: shared, registry });
    await a(makeCall(), failing).catch(() => {});
    await b(makeCall(), failing).catch(() => {});
    await expect(a(makeCall(), async () => textResult('ok'))).rejects.toThrow(
      /its upstream "up" failed 2 times in a row/,
    );
  });

  it('does not count the caller’s faults or isError results (unless configured)', async () => {
    const { b } = breaker({ consecutiveFailures: 1 });
    const policy = createCircuitBreakerPolicy({ toolName: 'up__tool', upstreamName: 'up', tool: b });
    await policy(makeCall(), async () => {
      throw new GatewayError('TG_INVALID_ARGUMENTS', 'bad');
    }).catch(() => {});
    await policy(makeCall(), async () => textResult('no such city', { isError: true }));
    expect(b.state).toBe('closed');
    const counting = createCircuitBreakerPolicy({
      toolName: 'up__tool',
      upstreamName: 'up',
      tool: b,
      countErrorResults: true,
    });
    await counting(makeCall(), async () => textResult('no such city', { isError: true }));
    expect(b.state).toBe('open');
  });

  it('uses the breaker of the upstream a call was redirected to', async () => {
    const registry = new ResilienceRegistry(log, newMetrics());
    const backup = registry.breaker(level('upstream', 'backup', 1));
    const own = registry.breaker(level('upstream', 'up', 1));
    const policy = createCircuitBreakerPolicy({ toolName: 'up__tool', upstreamName: 'up', upstream: own, registry });
    const redirected = makeCall({ target: { upstream: fakeUpstream('backup'), toolName: 'tool' } });
    await policy(redirected, failing).catch(() => {});
    expect(backup.state).toBe('open');
    expect(own.state).toBe('closed');
  });

  it('exposes state changes as metrics', async () => {
    const metrics = newMetrics();
    const registry = new ResilienceRegistry(log, metrics);
    const b = registry.breaker(level('tool', 'up__tool', 1));
    fail(b);
    const text = await metrics.registry.metrics();
    expect(text).toContain('toolgate_circuit_state{scope="tool",name="up__tool"} 2');
    expect(text).toContain('toolgate_circuit_transitions_total{scope="tool",name="up__tool",state="open"} 1');
  });

  it('keeps one instance per scope and name while its settings are unchanged', () => {
    const registry = new ResilienceRegistry(log, newMetrics());
    const opts = {
      scope: 'upstream' as const,
      name: 'up',
      consecutiveFailures: 2,
      minimumCalls: 10,
      windowMs: 1000,
      openMs: 1000,
      halfOpenProbes: 1,
    };
    const first = registry.breaker({ ...opts, source: 'defaults.circuitBreaker.upstream' });
    expect(registry.breaker({ ...opts, source: 'tools."x".circuitBreaker.upstream' })).toBe(first);
    expect(registry.breaker({ ...opts, openMs: 2000 })).not.toBe(first);
  });
});
