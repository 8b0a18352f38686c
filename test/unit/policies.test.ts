import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { composePolicies } from '../../src/policies/compose.js';
import { createMaskErrorsPolicy } from '../../src/policies/mask-errors.js';
import { createTimeoutPolicy } from '../../src/policies/timeout.js';
import { TOOL_ERROR_META_KEY } from '../../src/policies/tool-error.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { ANONYMOUS, type Next, type Policy, type ToolCall, type ToolEntry, type ToolResult } from '../../src/types.js';

const log = createLogger({ level: 'silent' });

function makeCall(overrides: Partial<ToolCall> = {}): ToolCall {
  const entry = { name: 'up__tool' } as ToolEntry;
  const controller = new AbortController();
  return {
    abort: (reason: Error) => controller.abort(reason),
    entry,
    target: { upstream: {} as ToolEntry['upstream'], toolName: 'tool' },
    arguments: {},
    principal: ANONYMOUS,
    correlationId: 'cid-1',
    signal: controller.signal,
    meta: undefined,
    log,
    startedAt: 0,
    ...overrides,
  };
}

const ok: ToolResult = { content: [{ type: 'text', text: 'ok' }] };
const meta = (r: ToolResult) => r._meta?.[TOOL_ERROR_META_KEY] as { code: string; correlationId: string } | undefined;

describe('composePolicies', () => {
  it('runs policies outermost first around the terminal', async () => {
    const order: string[] = [];
    const p =
      (name: string): Policy =>
      async (call, next) => {
        order.push(`${name}>`);
        const r = await next(call);
        order.push(`<${name}`);
        return r;
      };
    const chain = composePolicies([p('a'), p('b')], async () => {
      order.push('terminal');
      return ok;
    });
    await chain(makeCall());
    expect(order).toEqual(['a>', 'b>', 'terminal', '<b', '<a']);
  });

  it('lets a policy hand a modified call to the rest of the chain', async () => {
    const seen: unknown[] = [];
    const chain = composePolicies(
      [async (call, next) => next({ ...call, arguments: { fixed: true } })],
      async (call) => {
        seen.push(call.arguments);
        return ok;
      },
    );
    await chain(makeCall({ arguments: { fixed: false } }));
    expect(seen).toEqual([{ fixed: true }]);
  });

  it('turns a synchronous throw of a policy or the terminal into a rejection the outer policies see', async () => {
    const boom = new GatewayError('TG_INTERNAL', 'boom');
    const seen: unknown[] = [];
    // A non-async outer policy that only chains on the promise, as the hot-path policies do.
    const outer: Policy = (call, next) =>
      next(call).then(
        (r) => r,
        (err: unknown) => {
          seen.push(err);
          throw err;
        },
      );
    const throwing: Policy = () => {
      throw boom;
    };
    const chain = composePolicies([outer, throwing], async () => ok);
    let thrown: unknown;
    const pending = (() => {
      try {
        return chain(makeCall());
      } catch (err) {
        thrown = err;
        return undefined;
      }
    })();
    expect(thrown).toBeUndefined();
    await expect(pending).rejects.toBe(boom);
    const viaTerminal = composePolicies([outer], () => {
      throw boom;
    });
    await expect(viaTerminal(makeCall())).rejects.toBe(boom);
    expect(seen).toEqual([boom, boom]);
  });
});

describe('timeout policy', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fails with TG_TIMEOUT naming the limit and aborts the inner call', async () => {
    let innerSignal: AbortSignal | undefined;
    const policy = createTimeoutPolicy({ timeoutMs: 1500, source: 'tools."up__*".timeoutMs' });
    const next: Next = (call) => {
      innerSignal = call.signal;
      return new Promise(() => {});
    };
    const p = policy(makeCall(), next);
    const assertion = expect(p).rejects.toMatchObject({
      code: 'TG_TIMEOUT',
      message: expect.stringContaining('1.5 s'),
    });
    await vi.advanceTimersByTimeAsync(1499);
    expect(innerSignal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await assertion;
    expect(innerSignal?.aborted).toBe(true);
    expect((innerSignal?.reason as GatewayError).code).toBe('TG_TIMEOUT');
  });

  it('passes a result through and clears its timer', async () => {
    const policy = createTimeoutPolicy({ timeoutMs: 1000 });
    await expect(policy(makeCall(), async () => ok)).resolves.toBe(ok);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets the caller cancelling reach the inner call before the deadline', async () => {
    const outer = new AbortController();
    let innerSignal: AbortSignal | undefined;
    const policy = createTimeoutPolicy({ timeoutMs: 10_000 });
    const p = policy(makeCall({ signal: outer.signal, abort: (r) => outer.abort(r) }), (call) => {
      innerSignal = call.signal;
      return new Promise((_, reject) => call.signal.addEventListener('abort', () => reject(call.signal.reason)));
    });
    outer.abort(new GatewayError('TG_CANCELLED', 'cancelled'));
    await expect(p).rejects.toMatchObject({ code: 'TG_CANCELLED' });
    expect(innerSignal?.aborted).toBe(true);
  });

  it('rejects invalid options at creation', () => {
    expect(() => createTimeoutPolicy({ timeoutMs: 0 })).toThrow(/positive integer/);
    expect(() => createTimeoutPolicy({ timeoutMs: 1.5 })).toThrow(/positive integer/);
  });
});

describe('mask-errors policy', () => {
  const policy = createMaskErrorsPolicy();

  it('turns a tool-surface GatewayError into an isError result with its code and message', async () => {
    const r = await policy(makeCall(), async () => {
      throw new GatewayError('TG_UPSTREAM_UNAVAILABLE', 'The upstream is down.', { retryAfterMs: 2000 });
    });
    expect(r.isError).toBe(true);
    expect(r.content[0]).toMatchObject({ text: 'The upstream is down. You may retry in 2 s.' });
    expect(meta(r)).toMatchObject({ code: 'TG_UPSTREAM_UNAVAILABLE', correlationId: 'cid-1' });
  });

  it('masks an unknown error: generic text with the correlation id, no internal detail', async () => {
    const r = await policy(makeCall(), async () => {
      throw new Error('ECONNREFUSED 10.0.0.7:5432 password=hunter2');
    });
    expect(r.isError).toBe(true);
    const text = r.content[0]?.['text'] as string;
    expect(text).toContain('cid-1');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('10.0.0.7');
    expect(meta(r)?.code).toBe('TG_TOOL_INTERNAL');
  });

  it('re-throws protocol errors for the edge to send as JSON-RPC errors', async () => {
    await expect(
      policy(makeCall(), async () => {
        throw new GatewayError('TG_UNKNOWN_TOOL', 'Unknown tool');
      }),
    ).rejects.toMatchObject({ code: 'TG_UNKNOWN_TOOL' });
  });
});
