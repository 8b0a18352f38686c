import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PolicySettings } from '../../src/config/policy-settings.js';
import { GatewayError } from '../../src/errors.js';
import { buildToolChain, POLICY_CHAIN, type PolicyServices } from '../../src/policies/index.js';
import { ResilienceRegistry } from '../../src/policies/resilience-registry.js';
import { TOOL_ERROR_META_KEY } from '../../src/policies/tool-error.js';
import type { ToolCall, ToolDefinition, ToolResult } from '../../src/types.js';
import { fakeUpstream, log, makeCall, newMetrics, textResult } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const definition: ToolDefinition = {
  name: 'up__read',
  inputSchema: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
  annotations: { readOnlyHint: true },
};

function services(): PolicyServices {
  const metrics = newMetrics();
  return {
    logger: log,
    metrics,
    upstreams: new Map([['up', fakeUpstream('up')]]),
    resilience: new ResilienceRegistry(log, metrics),
  };
}

const build = (settings: PolicySettings, terminal: (call: ToolCall) => Promise<ToolResult>) =>
  buildToolChain(
    { toolName: 'up__read', upstreamName: 'up', definition, settings, sources: {}, services: services() },
    POLICY_CHAIN,
    terminal,
  );

describe('the chain of validation and resilience policies', () => {
  it('orders the slots: validate and output checks outside the timeout; retry, fallback, breaker, concurrency inside', () => {
    const names = POLICY_CHAIN.map((s) => s.name);
    const at = (n: string): number => names.indexOf(n);
    expect(at('mask-errors')).toBeLessThan(at('validate'));
    expect(at('validate')).toBeLessThan(at('cap-output'));
    expect(at('cap-output')).toBeLessThan(at('validate-output'));
    expect(at('validate-output')).toBeLessThan(at('timeout'));
    expect(at('timeout')).toBeLessThan(at('retry'));
    expect(at('retry')).toBeLessThan(at('fallback'));
    expect(at('fallback')).toBeLessThan(at('circuit-breaker'));
    expect(at('circuit-breaker')).toBeLessThan(at('concurrency'));
  });

  it('keeps every retry within the call’s timeout', async () => {
    const attempts: number[] = [];
    const chain = build(
      { timeoutMs: 1000, retry: { attempts: 10, initialDelayMs: 300, maxDelayMs: 300 } },
      async () => {
        attempts.push(Date.now());
        throw new GatewayError('TG_UPSTREAM_TRANSPORT', 'The upstream "up" answered HTTP 503.', { retryAfterMs: 300 });
      },
    );
    const start = Date.now();
    const done = chain(makeCall({ arguments: { id: 1 }, startedAt: performance.now() }));
    await vi.advanceTimersByTimeAsync(5000);
    const result = await done;
    expect(result.isError).toBe(true);
    expect(attempts.length).toBeGreaterThan(1);
    expect(attempts.every((t) => t - start < 1000)).toBe(true);
    const code = (result._meta?.[TOOL_ERROR_META_KEY] as { code: string }).code;
    expect(['TG_RETRY_EXHAUSTED', 'TG_TIMEOUT']).toContain(code);
  });

  it('refuses an invalid call before any attempt, breaker count or slot', async () => {
    let calls = 0;
    const s = services();
    const chain = buildToolChain(
      {
        toolName: 'up__read',
        upstreamName: 'up',
        definition,
        settings: { circuitBreaker: { tool: { consecutiveFailures: 1 } }, concurrency: { tool: { maxConcurrent: 1 } } },
        sources: {},
        services: s,
      },
      POLICY_CHAIN,
      async () => {
        calls++;
        return textResult('ok');
      },
    );
    const r = await chain(makeCall({ arguments: { id: 'abc' } }));
    expect((r._meta?.[TOOL_ERROR_META_KEY] as { code: string }).code).toBe('TG_INVALID_ARGUMENTS');
    expect(calls).toBe(0);
    expect(s.resilience?.findBreaker('tool', 'up__read')?.state).toBe('closed');
    expect((await chain(makeCall({ arguments: { id: '7' } }))).content[0]?.['text']).toBe('ok'); // corrected, one slot
    expect(calls).toBe(1);
  });

  it('builds no retry policy for a tool that is not safe to repeat', async () => {
    let calls = 0;
    const chain = buildToolChain(
      {
        toolName: 'up__write',
        upstreamName: 'up',
        definition: { ...definition, name: 'up__write', annotations: {} },
        settings: {},
        sources: {},
        services: services(),
      },
      POLICY_CHAIN,
      async () => {
        calls++;
        throw new GatewayError('TG_UPSTREAM_TRANSPORT', 'HTTP 503');
      },
    );
    const r = await chain(makeCall({ arguments: { id: 1 } }));
    expect((r._meta?.[TOOL_ERROR_META_KEY] as { code: string }).code).toBe('TG_UPSTREAM_TRANSPORT');
    expect(calls).toBe(1);
  });
});
