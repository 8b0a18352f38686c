import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { prepareOperation } from '../../src/bench/operations.js';
import { DeadlineSlots, LoadRunner, type Clock, type LoadPlan } from '../../src/bench/runner.js';
import type { BenchTarget, CallOutcome } from '../../src/bench/target.js';

/** A clock on vitest's fake timers: Date.now() advances only with the timers. */
const fakeClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    }),
};

const op = prepareOperation(
  { label: 'echo', method: 'tools/call', name: 'echo', weight: 1, argSets: [] },
  'legacy',
  undefined,
);

/** A target whose n-th call (0-based) takes `delays(n)` ms of fake time and ends with `outcome(n)`. */
function fakeTarget(
  delays: (n: number) => number,
  outcome: (n: number) => CallOutcome = () => ({ kind: 'ok' }),
): Omit<BenchTarget, 'failure'> & { calls: number; sentAt: number[]; failure: string | undefined } {
  const t = {
    calls: 0,
    sentAt: [] as number[],
    description: 'fake',
    unmatchedResponses: 0,
    lateResponses: 0,
    sessionReinits: 0,
    failure: undefined as string | undefined,
    pid: undefined,
    envelope: undefined,
    connect: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
    call(_op: unknown, signal: AbortSignal): Promise<CallOutcome> {
      const n = t.calls++;
      t.sentAt.push(Date.now());
      const d = delays(n);
      return new Promise((resolve) => {
        if (!Number.isFinite(d)) {
          signal.addEventListener('abort', () => resolve({ kind: 'timeout' }));
          return;
        }
        setTimeout(() => resolve(outcome(n)), d);
      });
    },
  };
  return t;
}

function plan(p: Partial<LoadPlan>): LoadPlan {
  return {
    concurrency: 1,
    requests: 5,
    durationMs: undefined,
    warmup: 0,
    ratePerSec: undefined,
    timeoutMs: 30_000,
    timeLimitMs: 600_000,
    ...p,
  };
}

async function runFor(runner: LoadRunner, ms: number): Promise<Awaited<ReturnType<LoadRunner['run']>>> {
  const done = runner.run();
  await vi.advanceTimersByTimeAsync(ms);
  return done;
}

describe('LoadRunner', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('in --rate mode measures latency from the intended send time, so a stall is not hidden (no coordinated omission)', async () => {
    // 100 req/s = one every 10 ms. The first call stalls 50 ms; the rest take 1 ms but are sent late.
    const target = fakeTarget((n) => (n === 0 ? 50 : 1));
    const start = Date.now();
    const r = await runFor(new LoadRunner(target, plan({ ratePerSec: 100 }), () => op, fakeClock), 1000);
    expect(target.sentAt.map((t) => t - start)).toEqual([0, 50, 51, 52, 53]);
    // Latencies from the schedule (0, 10, 20, 30, 40 ms): 50, 41, 32, 23, 14 ms.
    expect(r.overall.latency.min).toBe(14_000);
    expect(r.overall.latency.max).toBe(50_000);
    expect(r.overall.latency.mean).toBe(32_000);
    // Service time (from the actual send) is what a coordinated-omission-prone tool would have reported.
    expect(r.overall.service.mean).toBe(10_800);
    expect(r.maxSendLagMs).toBe(40);
    expect(r.completed).toBe(5);
  });

  it('in --rate mode never sends before the due time, even when timers fire early', async () => {
    vi.useRealTimers();
    // A manual clock whose sleeps wake after only half the time asked for.
    let t = 0;
    const earlyClock: Clock = {
      now: () => t,
      sleep: async (ms) => {
        t += ms / 2;
      },
    };
    const sent: number[] = [];
    const target = {
      ...fakeTarget(() => 0),
      call: async (): Promise<CallOutcome> => {
        sent.push(t);
        t += 0.25;
        return { kind: 'ok' };
      },
    };
    const r = await new LoadRunner(target, plan({ ratePerSec: 100, requests: 5 }), () => op, earlyClock).run();
    for (const [i, at] of sent.entries()) expect(at).toBeGreaterThanOrEqual(i * 10);
    expect(r.overall.latency.min).toBeGreaterThanOrEqual(250);
  });

  it('in --rate mode sends on schedule, not as fast as answers come back', async () => {
    const target = fakeTarget(() => 1);
    const start = Date.now();
    const r = await runFor(
      new LoadRunner(target, plan({ ratePerSec: 50, concurrency: 3, requests: 4 }), () => op, fakeClock),
      1000,
    );
    expect(target.sentAt.map((t) => t - start)).toEqual([0, 20, 40, 60]);
    expect(r.overall.latency.mean).toBe(1000);
    expect(r.maxSendLagMs).toBe(0);
  });

  it('in the closed model sends the next request when the previous one ends and measures from that send', async () => {
    const target = fakeTarget((n) => (n === 0 ? 50 : 1));
    const r = await runFor(new LoadRunner(target, plan({}), () => op, fakeClock), 1000);
    expect(r.overall.latency.mean).toBe(10_800);
    expect(r.windowMs).toBe(54);
    expect(r.throughput).toBeCloseTo((5 / 54) * 1000, 6);
  });

  it('stops issuing at the end of --duration and counts only what was sent inside it', async () => {
    const target = fakeTarget(() => 10);
    const r = await runFor(
      new LoadRunner(target, plan({ requests: undefined, durationMs: 100, concurrency: 2 }), () => op, fakeClock),
      1000,
    );
    expect(r.sent).toBe(20);
    expect(r.completed).toBe(20);
    expect(r.stopReason).toBe('duration');
  });

  it('leaves warm-up requests out of every figure', async () => {
    const target = fakeTarget((n) => (n < 3 ? 500 : 2));
    const r = await runFor(new LoadRunner(target, plan({ warmup: 3 }), () => op, fakeClock), 5000);
    expect(target.calls).toBe(8);
    expect(r.warmupCompleted).toBe(3);
    expect(r.completed).toBe(5);
    expect(r.overall.latency.max).toBe(2000);
    expect(r.stopReason).toBe('completed');
  });

  it('times out calls that get no answer and counts them as timeouts', async () => {
    const target = fakeTarget((n) => (n % 2 === 0 ? Number.POSITIVE_INFINITY : 1));
    const r = await runFor(new LoadRunner(target, plan({ requests: 6, timeoutMs: 100 }), () => op, fakeClock), 5000);
    expect(r.overall.outcomes.timeouts).toBe(3);
    expect(r.overall.outcomes.ok).toBe(3);
    // Timed-out calls have no answer, so they have no latency sample.
    expect(r.overall.latency.count).toBe(3);
  });

  it('counts outcomes by class and per operation', async () => {
    const outcomes: CallOutcome[] = [
      { kind: 'ok' },
      { kind: 'tool_error', message: 'bad path' },
      { kind: 'rpc_error', code: -32602, message: 'unknown tool' },
      { kind: 'transport_error', reason: 'http_503', message: 'HTTP 503' },
      { kind: 'invalid', reason: 'result.content is not an array' },
      { kind: 'rpc_error', code: -32602, message: 'unknown tool' },
    ];
    const target = fakeTarget(
      () => 1,
      (n) => outcomes[n]!,
    );
    const r = await runFor(new LoadRunner(target, plan({ requests: 6 }), () => op, fakeClock), 1000);
    expect(r.overall.outcomes).toEqual({
      total: 6,
      ok: 1,
      toolErrors: 1,
      rpcErrors: { '-32602': 2 },
      transportErrors: { http_503: 1 },
      timeouts: 0,
      invalid: { 'result.content is not an array': 1 },
    });
    expect(r.perOp.get('echo')?.outcomes.total).toBe(6);
    expect(r.topErrors[0]).toEqual({ message: 'JSON-RPC -32602: unknown tool', count: 2 });
  });

  it('gives up on a target that only fails at the transport', async () => {
    const target = fakeTarget(
      () => 0,
      () => ({ kind: 'transport_error', reason: 'ECONNREFUSED', message: 'refused' }),
    );
    const r = await runFor(new LoadRunner(target, plan({ requests: 10_000 }), () => op, fakeClock), 1000);
    expect(r.stopReason).toBe('unreachable');
    expect(r.completed).toBe(100);
  });

  it('stops when the target reports it can take no more calls', async () => {
    const target = fakeTarget(() => 1);
    const runner = new LoadRunner(
      target,
      plan({ requests: 100 }),
      () => {
        if (target.calls === 3) target.failure = 'the server process exited with code 1';
        return op;
      },
      fakeClock,
    );
    const r = await runFor(runner, 1000);
    expect(r.stopReason).toBe('target-failed');
    expect(r.stopDetail).toBe('the server process exited with code 1');
    expect(r.completed).toBe(4);
  });

  it('enforces the time limit whatever the plan says', async () => {
    const target = fakeTarget(() => 20);
    const r = await runFor(new LoadRunner(target, plan({ requests: 100, timeLimitMs: 50 }), () => op, fakeClock), 1000);
    expect(r.stopReason).toBe('time-limit');
    expect(r.completed).toBe(3);
  });

  it('stops on interrupt and keeps the figures so far', async () => {
    const target = fakeTarget(() => 10);
    const runner = new LoadRunner(target, plan({ requests: 1000 }), () => op, fakeClock);
    const done = runner.run();
    await vi.advanceTimersByTimeAsync(55);
    runner.stop('interrupted');
    await vi.advanceTimersByTimeAsync(100);
    const r = await done;
    expect(r.stopReason).toBe('interrupted');
    expect(r.completed).toBe(6);
    expect(runner.progress().completed).toBe(6);
  });
});

describe('DeadlineSlots', () => {
  it('shares one signal per slot and never times a call out before its full timeout', () => {
    const slots = new DeadlineSlots(100, 10);
    const a = slots.signalFor(0);
    expect(slots.signalFor(9)).toBe(a);
    const b = slots.signalFor(10);
    expect(b).not.toBe(a);
    slots.sweep(109); // the call sent at 9 ms has had 100 ms
    expect(a.aborted).toBe(false);
    slots.sweep(110);
    expect(a.aborted).toBe(true);
    expect(b.aborted).toBe(false);
    slots.sweep(120);
    expect(b.aborted).toBe(true);
  });
});
