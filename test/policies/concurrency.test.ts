import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import {
  ConcurrencyLimiter,
  createConcurrencyPolicy,
  type ConcurrencyLimiterOptions,
} from '../../src/policies/concurrency.js';
import { ResilienceRegistry } from '../../src/policies/resilience-registry.js';
import type { ToolResult } from '../../src/types.js';
import { fakeUpstream, log, makeCall, newMetrics, textResult } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function limiter(options: Partial<ConcurrencyLimiterOptions> = {}): ConcurrencyLimiter {
  return new ConcurrencyLimiter({
    scope: 'tool',
    name: 'up__tool',
    maxConcurrent: 1,
    maxQueue: 2,
    maxWaitMs: 1000,
    now: () => Date.now(),
    ...options,
  });
}

/** A terminal that answers when the test says so. */
function gate() {
  const pending: Array<() => void> = [];
  let calls = 0;
  const next = (): Promise<ToolResult> =>
    new Promise((resolve) => {
      calls++;
      pending.push(() => resolve(textResult(`done ${calls}`)));
    });
  return {
    next,
    release: () => pending.shift()?.(),
    get calls() {
      return calls;
    },
  };
}

describe('concurrency limiter', () => {
  it('takes a free slot without a promise and queues the rest in order', async () => {
    const l = limiter({ maxConcurrent: 2, maxQueue: 5 });
    const signal = new AbortController().signal;
    expect(l.acquire('t', signal)).toBeUndefined();
    expect(l.acquire('t', signal)).toBeUndefined();
    const order: number[] = [];
    const w1 = l.acquire('t', signal)?.then(() => order.push(1));
    const w2 = l.acquire('t', signal)?.then(() => order.push(2));
    expect(l.waiting).toBe(2);
    l.release(10);
    await w1;
    expect(order).toEqual([1]);
    expect(l.inFlight).toBe(2); // the slot passed to the waiter
    l.release(10);
    await w2;
    expect(order).toEqual([1, 2]);
    l.release(10);
    l.release(10);
    expect(l.inFlight).toBe(0);
  });

  it('fails a waiter after maxWait with a retry hint', async () => {
    const l = limiter({ maxWaitMs: 1000 });
    const signal = new AbortController().signal;
    l.acquire('t', signal);
    const waited = l.acquire('t', signal)?.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(999);
    expect(l.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const err = await waited;
    expect(err).toMatchObject({ code: 'TG_CONCURRENCY_LIMIT', data: { reason: 'timeout', scope: 'tool' } });
    expect((err as Error).message).toMatch(
      /^The tool "t" is busy \(1 call running, limit 1; this call waited 1 s without getting a turn\)\. Try again in /,
    );
    expect(l.waiting).toBe(0);
    l.release(5);
    expect(l.inFlight).toBe(0); // the timed-out waiter did not take the slot
  });

  it('refuses at once when the queue is full', () => {
    const l = limiter({ maxQueue: 1, source: 'tools."up__*".concurrency.tool' });
    const signal = new AbortController().signal;
    l.acquire('t', signal);
    void l.acquire('t', signal)?.catch(() => {});
    let err: unknown;
    try {
      l.acquire('t', signal);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'TG_CONCURRENCY_LIMIT', retryAfterMs: 1000, data: { reason: 'full' } });
    expect((err as Error).message).toBe(
      'The tool "t" is busy (1 call running, limit 1 (tools."up__*".concurrency.tool), and 1 call already waiting). Try again in 1 s.',
    );
  });

  it('estimates the retry hint from how long slots are held', () => {
    const l = limiter({ maxConcurrent: 2, maxQueue: 0 });
    const signal = new AbortController().signal;
    l.acquire('t', signal);
    l.release(400);
    l.acquire('t', signal);
    l.acquire('t', signal);
    expect(() => l.acquire('t', signal)).toThrow(expect.objectContaining({ retryAfterMs: 400 }));
  });

  it('drops a waiter whose call is aborted', async () => {
    const l = limiter();
    const controller = new AbortController();
    l.acquire('t', controller.signal);
    const waited = l.acquire('t', controller.signal)?.catch((e: unknown) => e);
    controller.abort(new GatewayError('TG_CANCELLED', 'cancelled'));
    expect(await waited).toMatchObject({ code: 'TG_CANCELLED' });
    expect(l.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports queue waits to the metrics', async () => {
    const metrics = newMetrics();
    const registry = new ResilienceRegistry(log, metrics);
    const l = registry.limiter({ scope: 'upstream', name: 'up', maxConcurrent: 1, maxQueue: 1, maxWaitMs: 5000 });
    const signal = new AbortController().signal;
    l.acquire('t', signal);
    const w = l.acquire('t', signal);
    await vi.advanceTimersByTimeAsync(0);
    l.release(1);
    await w;
    expect(await metrics.registry.getSingleMetricAsString('toolgate_concurrency_queue_wait_seconds')).toContain(
      'toolgate_concurrency_queue_wait_seconds_count{scope="upstream",name="up"} 1',
    );
  });

  it('rejects bad options at creation', () => {
    expect(() => limiter({ maxConcurrent: 0 })).toThrow(/maxConcurrent/);
  });
});

describe('concurrency policy', () => {
  it('holds tool and upstream slots only while the call runs, and releases them on failure', async () => {
    const tool = limiter({ maxConcurrent: 2, maxQueue: 0 });
    const upstream = limiter({ scope: 'upstream', name: 'up', maxConcurrent: 1, maxQueue: 1, maxWaitMs: 5000 });
    const policy = createConcurrencyPolicy({ upstreamName: 'up', tool, upstream });
    const g = gate();
    const first = policy(makeCall(), g.next);
    const second = policy(makeCall(), g.next);
    await vi.advanceTimersByTimeAsync(0);
    expect(g.calls).toBe(1); // the second waits for the upstream slot
    expect(tool.inFlight).toBe(2);
    await expect(policy(makeCall(), g.next)).rejects.toMatchObject({
      code: 'TG_CONCURRENCY_LIMIT',
      data: { scope: 'tool' },
    });
    g.release();
    await first;
    await vi.advanceTimersByTimeAsync(0);
    expect(g.calls).toBe(2);
    g.release();
    await second;
    expect(tool.inFlight).toBe(0);
    expect(upstream.inFlight).toBe(0);
    await expect(
      policy(makeCall(), async () => {
        throw new GatewayError('TG_UPSTREAM_TRANSPORT', 'x');
      }),
    ).rejects.toMatchObject({ code: 'TG_UPSTREAM_TRANSPORT' });
    expect(tool.inFlight + upstream.inFlight).toBe(0);
  });

  it('gives the tool slot back when the upstream queue refuses', async () => {
    const tool = limiter({ maxConcurrent: 5 });
    const upstream = limiter({ scope: 'upstream', name: 'up', maxConcurrent: 1, maxQueue: 0 });
    const policy = createConcurrencyPolicy({ upstreamName: 'up', tool, upstream });
    const g = gate();
    const first = policy(makeCall(), g.next);
    await expect(policy(makeCall(), g.next)).rejects.toThrow(/its upstream "up" is at capacity/);
    expect(tool.inFlight).toBe(1);
    g.release();
    await first;
  });

  it('applies the limit of the upstream a call was redirected to', async () => {
    const registry = new ResilienceRegistry(log, newMetrics());
    const backup = registry.limiter({ scope: 'upstream', name: 'backup', maxConcurrent: 1, maxQueue: 0, maxWaitMs: 0 });
    const policy = createConcurrencyPolicy({ upstreamName: 'up', registry });
    const g = gate();
    const redirected = () => makeCall({ target: { upstream: fakeUpstream('backup'), toolName: 'tool' } });
    const first = policy(redirected(), g.next);
    expect(backup.inFlight).toBe(1);
    await expect(policy(redirected(), g.next)).rejects.toMatchObject({ code: 'TG_CONCURRENCY_LIMIT' });
    g.release();
    await first;
  });
});
