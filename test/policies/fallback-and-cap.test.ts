import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import {
  CHARS_PER_TOKEN,
  createCapOutputPolicy,
  cutText,
  narrowingFields,
  TRUNCATION_META_KEY,
} from '../../src/policies/cap-output.js';
import { createFallbackPolicy, FALLBACK_META_KEY } from '../../src/policies/fallback.js';
import { ResilienceRegistry } from '../../src/policies/resilience-registry.js';
import type { ToolCall, ToolResult } from '../../src/types.js';
import { fakeUpstream, firstText, log, makeCall, newMetrics, textResult } from './helpers.js';

describe('fallback policy', () => {
  const setup = () => {
    const primary = fakeUpstream('main');
    const backup = fakeUpstream('backup');
    const registry = new ResilienceRegistry(log, newMetrics());
    const metrics = newMetrics();
    const policy = createFallbackPolicy({
      toolName: 'main__echo',
      primary,
      fallback: backup,
      registry,
      counter: metrics.fallbackCalls,
    });
    const seen: string[] = [];
    const next = async (call: ToolCall): Promise<ToolResult> => {
      seen.push(`${call.target.upstream.name}/${call.target.toolName}`);
      if (call.target.upstream.state !== 'up') throw new GatewayError('TG_UPSTREAM_UNAVAILABLE', 'down');
      return textResult(`from ${call.target.upstream.name}`, { _meta: { upstreamKey: 1 } });
    };
    const call = () => makeCall({ target: { upstream: primary, toolName: 'echo' } });
    return { primary, backup, registry, metrics, policy, seen, next, call };
  };

  it('uses the primary while it is up', async () => {
    const s = setup();
    const r = await s.policy(s.call(), s.next);
    expect(firstText(r)).toBe('from main');
    expect(r._meta?.[FALLBACK_META_KEY]).toBeUndefined();
  });

  it('goes to the fallback while the primary is down, and says so in _meta', async () => {
    const s = setup();
    s.primary.state = 'down';
    const r = await s.policy(s.call(), s.next);
    expect(s.seen).toEqual(['backup/echo']);
    expect(firstText(r)).toBe('from backup');
    expect(r._meta).toEqual({
      upstreamKey: 1,
      [FALLBACK_META_KEY]: { upstream: 'backup', primary: 'main', reason: 'down' },
    });
    expect(await s.metrics.registry.getSingleMetricAsString('toolgate_fallback_calls_total')).toContain(
      'reason="down"} 1',
    );
  });

  it('goes to the fallback while the primary’s breaker is open', async () => {
    const s = setup();
    const b = s.registry.breaker({
      scope: 'upstream',
      name: 'main',
      consecutiveFailures: 1,
      minimumCalls: 10,
      windowMs: 1000,
      openMs: 60_000,
      halfOpenProbes: 1,
    });
    b.record('failure', false);
    const r = await s.policy(s.call(), s.next);
    expect(r._meta?.[FALLBACK_META_KEY]).toMatchObject({ reason: 'circuit-open' });
  });

  it('retries on the fallback when the primary refused the call, never after it ran', async () => {
    const s = setup();
    const refused = await s.policy(s.call(), async (call) => {
      if (call.target.upstream.name === 'main') throw new GatewayError('TG_UPSTREAM_UNAVAILABLE', 'restarting');
      return s.next(call);
    });
    expect(refused._meta?.[FALLBACK_META_KEY]).toMatchObject({ reason: 'unavailable' });
    let calls = 0;
    await expect(
      s.policy(s.call(), async () => {
        calls++;
        throw new GatewayError('TG_UPSTREAM_CRASHED', 'exited mid-call');
      }),
    ).rejects.toMatchObject({ code: 'TG_UPSTREAM_CRASHED' });
    expect(calls).toBe(1);
  });

  it('stays on the primary when the fallback is not up either', async () => {
    const s = setup();
    s.primary.state = 'restarting';
    s.backup.state = 'down';
    await expect(s.policy(s.call(), s.next)).rejects.toMatchObject({ code: 'TG_UPSTREAM_UNAVAILABLE' });
    expect(s.seen).toEqual(['main/echo']);
  });
});

describe('cap-output policy', () => {
  const big = (n: number) => 'x'.repeat(n);

  it('passes results under the cap untouched (same object)', async () => {
    const policy = createCapOutputPolicy({ toolName: 't', maxBytes: 1000 });
    const r = textResult(big(900));
    expect(await policy(makeCall(), async () => r)).toBe(r);
  });

  it('cuts text over the cap with a marker saying how much was cut and how to ask for less', async () => {
    const metrics = newMetrics();
    const policy = createCapOutputPolicy({
      toolName: 'files__read',
      maxBytes: 2000,
      source: 'defaults.output.maxBytes',
      narrowingFields: ['offset', 'limit'],
      counter: metrics.outputTruncations,
    });
    const r = await policy(makeCall(), async () => ({
      content: [
        { type: 'text', text: big(5000) },
        { type: 'text', text: 'tail' },
      ],
      structuredContent: { n: 1 },
    }));
    expect(r.content).toHaveLength(2);
    expect(firstText(r)).toBe(big(1600));
    expect(r.content[1]?.['text']).toBe(
      '[toolgate: output truncated — 3.3 KB of 4.9 KB cut (limit 2 KB, defaults.output.maxBytes). To get the rest, call "files__read" again with `offset` / `limit` set to ask for less, or with a narrower request.]',
    );
    expect(r.structuredContent).toEqual({ n: 1 });
    expect(r._meta?.[TRUNCATION_META_KEY]).toEqual({ originalBytes: 5004, keptBytes: 1600, limitBytes: 2000 });
    const total = r.content.reduce((n, b) => n + Buffer.byteLength(String(b['text'])), 0);
    expect(total).toBeLessThanOrEqual(2000);
    expect(await metrics.registry.getSingleMetricAsString('toolgate_output_truncations_total')).toContain(
      '{tool="files__read"} 1',
    );
  });

  it('applies the token estimate too', async () => {
    const policy = createCapOutputPolicy({ toolName: 't', maxBytes: 1_000_000, maxTokens: 500 });
    const r = await policy(makeCall(), async () => textResult(big(10_000)));
    expect(firstText(r).length).toBe(500 * CHARS_PER_TOKEN - 400);
    expect(String(r.content[1]?.['text'])).toContain('or ~500 tokens');
  });

  it('drops a binary block that does not fit', async () => {
    const policy = createCapOutputPolicy({ toolName: 't', maxBytes: 1000 });
    const r = await policy(makeCall(), async () => ({
      content: [
        { type: 'text', text: 'caption' },
        { type: 'image', mimeType: 'image/png', data: big(5000) },
      ],
    }));
    expect(r.content.map((b) => b.type)).toEqual(['text', 'text']);
    expect(String(r.content[1]?.['text'])).toMatch(/^\[toolgate: output truncated — 4\.9 KB of 4\.9 KB cut/);
  });

  it('never splits a character', () => {
    expect(cutText('aé€😀b', 4, 100)).toBe('aé'); // é is 2 bytes, € 3
    expect(cutText('aé€😀b', 9, 100)).toBe('aé€');
    expect(cutText('😀😀', 100, 3)).toBe('😀'); // a surrogate pair is never cut in half
  });

  it('finds the input fields that narrow the output', () => {
    expect(narrowingFields({ type: 'object', properties: { path: {}, offset: {}, limit: {}, query: {} } })).toEqual([
      'offset',
      'limit',
    ]);
  });

  it('rejects a bad cap at creation', () => {
    expect(() => createCapOutputPolicy({ toolName: 't', maxBytes: 0 })).toThrow(/maxBytes/);
  });
});
