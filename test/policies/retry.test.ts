import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError, type ErrorCode } from '../../src/errors.js';
import {
  createRetryPolicy,
  fullJitterDelay,
  isSafeToRepeat,
  type RetryPolicyOptions,
} from '../../src/policies/retry.js';
import type { ToolCall, ToolResult } from '../../src/types.js';
import { fakeUpstream, makeCall, newMetrics, textResult } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A terminal failing with the given codes in turn, then answering; records the fake time of each attempt. */
function flaky(codes: (ErrorCode | { code: ErrorCode; retryAfterMs: number } | 'isError')[]) {
  const times: number[] = [];
  const next = async (_call: ToolCall): Promise<ToolResult> => {
    times.push(Date.now());
    const step = codes[times.length - 1];
    if (step === undefined) return textResult('ok');
    if (step === 'isError') return textResult(`failure ${times.length}`, { isError: true });
    const { code, retryAfterMs } = typeof step === 'string' ? { code: step, retryAfterMs: undefined } : step;
    throw new GatewayError(code, `upstream said no (${code}).`, retryAfterMs === undefined ? {} : { retryAfterMs });
  };
  return { times, next };
}

function retry(options: Partial<RetryPolicyOptions> = {}) {
  return createRetryPolicy({
    timeoutMs: 30_000,
    initialDelayMs: 100,
    maxDelayMs: 1000,
    random: () => 0.5,
    now: () => Date.now(),
    ...options,
  });
}

const call = (): ToolCall => makeCall({ startedAt: Date.now() });

/** Runs the policy to completion on the fake clock. */
async function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  const out: { value?: T; error?: unknown } = {};
  const done = p.then(
    (value) => (out.value = value),
    (error: unknown) => (out.error = error),
  );
  await vi.runAllTimersAsync();
  await done;
  return out;
}

describe('full jitter backoff', () => {
  it('stays within [0, min(max, initial·2^(n-1))) and grows exponentially until capped', () => {
    expect(fullJitterDelay(1, 100, 1000, () => 0)).toBe(0);
    expect(fullJitterDelay(1, 100, 1000, () => 0.999)).toBe(99);
    expect(fullJitterDelay(2, 100, 1000, () => 0.999)).toBe(199);
    expect(fullJitterDelay(3, 100, 1000, () => 0.999)).toBe(399);
    expect(fullJitterDelay(5, 100, 1000, () => 0.999)).toBe(999);
    expect(fullJitterDelay(30, 100, 1000, () => 0.999)).toBe(999);
  });

  it('spreads real random delays over the whole interval', () => {
    const samples = Array.from({ length: 2000 }, () => fullJitterDelay(3, 100, 10_000));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(400);
    expect(samples.filter((s) => s < 100).length).toBeGreaterThan(300); // ~25% in each quarter
    expect(samples.filter((s) => s >= 300).length).toBeGreaterThan(300);
  });
});

describe('retry policy', () => {
  it('retries transport failures with backoff and succeeds', async () => {
    const metrics = newMetrics();
    const t = flaky(['TG_UPSTREAM_TRANSPORT', 'TG_UPSTREAM_UNAVAILABLE']);
    const start = Date.now();
    const r = await settle(retry({ counter: metrics.retries })(call(), t.next));
    expect(r.value?.content[0]?.['text']).toBe('ok');
    // random 0.5: first retry after 50 ms (half of 100), the second after 100 ms (half of 200)
    expect(t.times.map((x) => x - start)).toEqual([0, 50, 150]);
    expect(await metrics.registry.getSingleMetricAsString('toolgate_retries_total')).toContain(
      '{tool="up__tool",code="TG_UPSTREAM_TRANSPORT"} 1',
    );
  });

  it('gives up after `attempts` with TG_RETRY_EXHAUSTED carrying the last error', async () => {
    const t = flaky([
      'TG_UPSTREAM_TRANSPORT',
      'TG_UPSTREAM_TRANSPORT',
      { code: 'TG_UPSTREAM_TRANSPORT', retryAfterMs: 2000 },
    ]);
    const r = await settle(retry({ attempts: 3 })(call(), t.next));
    expect(t.times).toHaveLength(3);
    expect(r.error).toMatchObject({
      code: 'TG_RETRY_EXHAUSTED',
      retryAfterMs: 2000,
      data: { attempts: 3, lastCode: 'TG_UPSTREAM_TRANSPORT' },
    });
    expect((r.error as Error).message).toBe(
      'The tool "up__tool" failed 3 times with temporary errors; the last one: upstream said no (TG_UPSTREAM_TRANSPORT). Try again in 2 s.',
    );
  });

  it('never retries errors that are not transient', async () => {
    for (const code of [
      'TG_UPSTREAM_ERROR',
      'TG_INVALID_ARGUMENTS',
      'TG_CIRCUIT_OPEN',
      'TG_UPSTREAM_CRASHED',
      'TG_TIMEOUT',
    ] as const) {
      const t = flaky([code]);
      const r = await settle(retry()(call(), t.next));
      expect(t.times, code).toHaveLength(1);
      expect(r.error, code).toMatchObject({ code });
    }
  });

  it('passes a non-transient error after retries unchanged', async () => {
    const t = flaky(['TG_UPSTREAM_TRANSPORT', 'TG_UPSTREAM_ERROR']);
    const r = await settle(retry()(call(), t.next));
    expect(t.times).toHaveLength(2);
    expect(r.error).toMatchObject({ code: 'TG_UPSTREAM_ERROR' });
  });

  it('does not retry an upstream marked down (it will not be back within the budget)', async () => {
    const t = flaky(['TG_UPSTREAM_UNAVAILABLE']);
    const r = await settle(
      retry()(
        makeCall({ startedAt: Date.now(), target: { upstream: fakeUpstream('up', 'down'), toolName: 'tool' } }),
        t.next,
      ),
    );
    expect(t.times).toHaveLength(1);
    expect(r.error).toMatchObject({ code: 'TG_UPSTREAM_UNAVAILABLE' });
  });

  it('retries the codes listed in `on`', async () => {
    const t = flaky(['TG_UPSTREAM_CRASHED']);
    const r = await settle(retry({ on: ['TG_UPSTREAM_CRASHED'] })(call(), t.next));
    expect(t.times).toHaveLength(2);
    expect(r.value).toBeDefined();
  });

  it('honours Retry-After as a floor of the delay', async () => {
    const t = flaky([{ code: 'TG_UPSTREAM_TRANSPORT', retryAfterMs: 3000 }]);
    const start = Date.now();
    await settle(retry()(call(), t.next));
    expect(t.times.map((x) => x - start)).toEqual([0, 3000]);
  });

  it('does not retry when the delay would pass the deadline (timeout or budget)', async () => {
    const t = flaky([{ code: 'TG_UPSTREAM_TRANSPORT', retryAfterMs: 5000 }]);
    const r = await settle(retry({ timeoutMs: 1000 })(call(), t.next));
    expect(t.times).toHaveLength(1);
    expect(r.error).toMatchObject({ code: 'TG_UPSTREAM_TRANSPORT' }); // no retry made: the original error

    const t2 = flaky(['TG_UPSTREAM_TRANSPORT', 'TG_UPSTREAM_TRANSPORT', 'TG_UPSTREAM_TRANSPORT']);
    const r2 = await settle(retry({ budgetMs: 120, attempts: 5 })(call(), t2.next));
    expect(t2.times).toHaveLength(2); // 0 and 50; the next delay (100) would end at 150 > 120
    expect(r2.error).toMatchObject({ code: 'TG_RETRY_EXHAUSTED', data: { attempts: 2 } });
  });

  it('stops at once when the call is aborted during the backoff', async () => {
    const controller = new AbortController();
    const t = flaky(['TG_UPSTREAM_TRANSPORT', 'TG_UPSTREAM_TRANSPORT']);
    const p = retry({ initialDelayMs: 10_000, maxDelayMs: 10_000 })(
      makeCall({ controller, startedAt: Date.now() }),
      t.next,
    );
    const outcome = p.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1000);
    controller.abort(new GatewayError('TG_TIMEOUT', 'too slow'));
    expect(await outcome).toMatchObject({ code: 'TG_TIMEOUT' });
    expect(t.times).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('retries isError results only when errorResults is set, returning the last one', async () => {
    const plain = flaky(['isError']);
    expect((await settle(retry()(call(), plain.next))).value?.isError).toBe(true);
    expect(plain.times).toHaveLength(1);

    const t = flaky(['isError', 'isError', 'isError']);
    const r = await settle(retry({ errorResults: true })(call(), t.next));
    expect(t.times).toHaveLength(3);
    expect(r.value?.content[0]?.['text']).toBe('failure 3');
  });
});

describe('which tools are safe to repeat', () => {
  it('trusts readOnlyHint and idempotentHint unless config overrides', () => {
    expect(isSafeToRepeat({ readOnlyHint: true }, undefined)).toBe(true);
    expect(isSafeToRepeat({ idempotentHint: true }, undefined)).toBe(true);
    expect(isSafeToRepeat({ destructiveHint: false }, undefined)).toBe(false);
    expect(isSafeToRepeat(undefined, undefined)).toBe(false);
    expect(isSafeToRepeat(undefined, true)).toBe(true);
    expect(isSafeToRepeat({ readOnlyHint: true }, false)).toBe(false);
  });
});
