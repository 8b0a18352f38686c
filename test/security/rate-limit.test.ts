import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RateLimitSettingsSchema } from '../../src/config/security.js';
import { createRateLimitPolicy } from '../../src/policies/rate-limit.js';
import { MemoryLimiterStore, parseRate, RedisLimiterStore } from '../../src/security/rate-limiter.js';
import type { Principal, ToolCall, ToolResult } from '../../src/types.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { REDIS_URL, serviceSkipReason } from '../helpers/services.js';
import { errorCode, mcp, resultText } from './helpers.js';

const OK: ToolResult = { content: [{ type: 'text', text: 'ok' }] };
const next = (): Promise<ToolResult> => Promise.resolve(OK);
const principal = (subject: string): Principal => ({ subject, scopes: [], claims: {}, authMethod: 'api-key' });
const call = (p: Principal): ToolCall => ({ principal: p }) as unknown as ToolCall;

describe('rate parsing', () => {
  it('reads counts and windows', () => {
    expect(parseRate('60/min')).toMatchObject({ capacity: 60, windowMs: 60_000 });
    expect(parseRate('10/s')).toMatchObject({ capacity: 10, windowMs: 1000 });
    expect(parseRate('5/10s')).toMatchObject({ capacity: 5, windowMs: 10_000 });
    expect(parseRate('1000/h')).toMatchObject({ capacity: 1000, windowMs: 3_600_000 });
    expect(() => parseRate('often')).toThrow(/not a rate/);
    expect(RateLimitSettingsSchema.safeParse({ perCaller: '0/s' }).success).toBe(false);
  });
});

describe('token buckets (memory, fake clock)', () => {
  it('allows a burst of the capacity, then refills evenly', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const policy = createRateLimitPolicy({
        toolName: 'x__t',
        limiter: new MemoryLimiterStore(),
        settings: { perCaller: '3/s' },
      });
      if (policy === undefined) throw new Error('no policy');
      const alice = call(principal('alice'));
      for (let i = 0; i < 3; i++) await expect(policy(alice, next)).resolves.toBe(OK);
      const refused = await policy(alice, next).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'TG_RATE_LIMITED', retryAfterMs: 334 });
      expect((refused as Error).message).toMatch(/at most 3\/s per caller for "x__t".*retry in 334 ms/);
      await expect(policy(call(principal('bob')), next)).resolves.toBe(OK); // other callers have their own bucket
      vi.advanceTimersByTime(333);
      await expect(policy(alice, next)).rejects.toMatchObject({ code: 'TG_RATE_LIMITED' });
      vi.advanceTimersByTime(1);
      await expect(policy(alice, next)).resolves.toBe(OK);
    } finally {
      vi.useRealTimers();
    }
  });

  it('takes cost-weighted tokens from every bucket at once, or from none', async () => {
    vi.useFakeTimers({ now: 5_000_000 });
    try {
      const limiter = new MemoryLimiterStore();
      const cheap = createRateLimitPolicy({ toolName: 'x__cheap', limiter, settings: {}, perPrincipal: '10/min' });
      const dear = createRateLimitPolicy({
        toolName: 'x__dear',
        limiter,
        settings: { cost: 4, perTool: '8/min' },
        perPrincipal: '10/min',
      });
      if (cheap === undefined || dear === undefined) throw new Error('no policy');
      const a = call(principal('a'));
      await dear(a, next); // principal 10 → 6, tool 8 → 4
      await dear(a, next); // principal 6 → 2, tool 4 → 0
      await expect(dear(call(principal('b')), next)).rejects.toMatchObject({
        code: 'TG_RATE_LIMITED',
        data: { scope: 'tool' },
      });
      await cheap(a, next); // principal 2 → 1
      await cheap(a, next); // principal 1 → 0
      await expect(cheap(a, next)).rejects.toMatchObject({
        code: 'TG_RATE_LIMITED',
        data: { scope: 'principal', source: 'rateLimits.perPrincipal' },
      });
      // b's refused call took nothing from b's own principal bucket:
      for (let i = 0; i < 10; i++) await cheap(call(principal('b')), next);
    } finally {
      vi.useRealTimers();
    }
  });

  it('adds nothing to the chain without limits, and refuses a cost no bucket can hold', () => {
    const limiter = new MemoryLimiterStore();
    expect(createRateLimitPolicy({ toolName: 't', limiter, settings: undefined })).toBeUndefined();
    expect(createRateLimitPolicy({ toolName: 't', limiter, settings: { perTool: '5/s', cost: 0 } })).toBeUndefined();
    expect(() => createRateLimitPolicy({ toolName: 't', limiter, settings: { perTool: '5/s', cost: 6 } })).toThrow(
      /exceeds/,
    );
  });

  it('keeps memory bounded', () => {
    const limiter = new MemoryLimiterStore({ maxBuckets: 100, now: () => 0 });
    const rate = parseRate('5/s');
    for (let i = 0; i < 1000; i++) limiter.take([{ key: `k${i}`, rate, cost: 1 }]);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });
});

describe('rate limits end to end', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(`
rateLimits:
  requests: 3/min
upstreams:
  demo: { kind: local, module: examples/tools/demo-tools.mjs }
tools:
  demo__echo:
    rateLimit: { perCaller: 2/min }
`);
  });
  afterAll(async () => gw?.stop());

  it('answers a limited tool call with an isError result telling when to retry', async () => {
    const callEcho = (): ReturnType<typeof mcp> =>
      mcp(gw.url, 'tools/call', { name: 'demo__echo', arguments: { message: 'x' } });
    expect(resultText(await callEcho())).toBe('x');
    expect(resultText(await callEcho())).toBe('x');
    const r = await callEcho();
    expect(r.status).toBe(200);
    expect(errorCode(r)).toBe('TG_RATE_LIMITED');
    expect(resultText(r)).toMatch(/at most 2\/min per caller for "demo__echo".*retry in \d+(\.\d)? s/);
    const meta = (r.body.result?.['_meta'] as Record<string, { retryAfterMs?: number }>)['toolgate/error'];
    expect(meta?.retryAfterMs).toBeGreaterThan(0);
  });

  it('answers non-tool requests over the limit with HTTP 429 and Retry-After', async () => {
    for (let i = 0; i < 3; i++) expect((await mcp(gw.url, 'tools/list')).status).toBe(200);
    const r = await mcp(gw.url, 'tools/list');
    expect(r.status).toBe(429);
    expect(errorCode(r)).toBe('TG_TOO_MANY_REQUESTS');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('Redis limiter shared by two gateway instances', async () => {
  const skip = await serviceSkipReason('redis');
  const prefix = `toolgate:test:${process.pid}:${Date.now()}:`;
  afterAll(async () => {
    if (skip !== undefined) return;
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length > 0) await r.del(...keys);
    await r.quit();
  });

  it.skipIf(skip !== undefined)('holds a limit of N per minute across both instances', async () => {
    const N = 7;
    const yaml = `
rateLimits:
  store: redis
  redis: { url: "${REDIS_URL}", prefix: "${prefix}" }
upstreams:
  demo: { kind: local, module: examples/tools/demo-tools.mjs }
tools:
  demo__echo:
    rateLimit: { perTool: ${N}/min }
`;
    const [a, b] = await Promise.all([startGateway(yaml), startGateway(yaml)]);
    try {
      // 3N concurrent calls, half through each instance: exactly N pass. Buckets per instance would let 2N pass;
      // a non-atomic take would let more than N pass under this concurrency.
      const calls = Array.from({ length: 3 * N }, (_, i) =>
        mcp((i % 2 === 0 ? a : b).url, 'tools/call', { name: 'demo__echo', arguments: { message: String(i) } }),
      );
      const results = await Promise.all(calls);
      expect(results.filter((r) => r.body.result?.['isError'] !== true)).toHaveLength(N);
      expect(results.filter((r) => errorCode(r) === 'TG_RATE_LIMITED')).toHaveLength(2 * N);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it.skipIf(skip !== undefined)('is atomic across buckets: a refused call takes nothing', async () => {
    const limiter = new RedisLimiterStore({ url: REDIS_URL, prefix, timeoutMs: 1000 });
    try {
      const small = { key: 'atomic:small', rate: parseRate('1/min'), cost: 1 };
      const big = { key: 'atomic:big', rate: parseRate('100/min'), cost: 1 };
      expect(await limiter.take([small, big])).toEqual({ ok: true });
      expect(await limiter.take([big, small])).toMatchObject({ ok: false, index: 1 });
      const r = new Redis(REDIS_URL);
      const tokens = Number(await r.hget(`${prefix}atomic:big`, 'tokens'));
      await r.quit();
      expect(tokens).toBeGreaterThanOrEqual(99);
      expect(tokens).toBeLessThan(99.1);
    } finally {
      await limiter.close();
    }
  });

  it.skipIf(skip !== undefined)('fails closed when Redis is unreachable', async () => {
    const limiter = new RedisLimiterStore({ url: 'redis://127.0.0.1:1', prefix, timeoutMs: 200 });
    try {
      await expect(limiter.take([{ key: 'x', rate: parseRate('5/s'), cost: 1 }])).rejects.toMatchObject({
        code: 'TG_LIMITER_UNAVAILABLE',
      });
    } finally {
      await limiter.close();
    }
  });
});
