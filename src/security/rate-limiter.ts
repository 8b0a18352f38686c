import { Redis } from 'ioredis';
import { RATE_PATTERN } from '../config/security.js';
import { GatewayError } from '../errors.js';

/** A parsed rate: `capacity` tokens (the burst), refilled evenly over `windowMs`. */
export interface Rate {
  readonly capacity: number;
  readonly windowMs: number;
  /** The rate as written, for messages. */
  readonly text: string;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

/** Parses `60/min`, `10/s`, `5/10s` (validated by the config schema; throws on anything else). */
export function parseRate(text: string): Rate {
  const m = RATE_PATTERN.exec(text);
  if (m === null) throw new GatewayError('TG_CONFIG_INVALID', `not a rate: "${text}" (write e.g. "60/min")`);
  const count = Number(m[1]);
  const multiple = m[2] === '' || m[2] === undefined ? 1 : Number(m[2]);
  const windowMs = multiple * (UNIT_MS[m[3] as string] ?? 1000);
  if (count <= 0 || windowMs <= 0) throw new GatewayError('TG_CONFIG_INVALID', `rate "${text}" must be positive`);
  return { capacity: count, windowMs, text: text.trim() };
}

/** One bucket a call must take tokens from. */
export interface BucketTake {
  readonly key: string;
  readonly rate: Rate;
  readonly cost: number;
}

/** The answer of a limiter: allowed, or refused with the bucket that refused and when to retry. */
export type TakeResult =
  { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number; readonly index: number };

const OK: TakeResult = Object.freeze({ ok: true });

/** Where buckets live. `take` is all-or-nothing across the buckets of one call. */
export interface LimiterStore {
  readonly kind: 'memory' | 'redis';
  take(buckets: readonly BucketTake[]): TakeResult | Promise<TakeResult>;
  close(): Promise<void>;
}

interface Bucket {
  tokens: number;
  ts: number;
}

/** Options of the memory limiter. */
export interface MemoryLimiterOptions {
  now?: () => number;
  /** Buckets kept before full ones are swept (default 100 000). */
  maxBuckets?: number;
}

/**
 * Token buckets in process memory: exact for one gateway process, synchronous (no promise on the hot path).
 * A bucket that has refilled completely carries no information and is dropped when the map grows large.
 */
export class MemoryLimiterStore implements LimiterStore {
  readonly kind = 'memory' as const;
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly maxBuckets: number;
  private readonly windows = new Map<string, number>();

  constructor(options: MemoryLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxBuckets = options.maxBuckets ?? 100_000;
  }

  take(takes: readonly BucketTake[]): TakeResult {
    const t = this.now();
    let worst = 0;
    let index = -1;
    const levels: number[] = [];
    for (let i = 0; i < takes.length; i++) {
      const { key, rate, cost } = takes[i] as BucketTake;
      const b = this.buckets.get(key);
      const perMs = rate.capacity / rate.windowMs;
      const level = b === undefined ? rate.capacity : Math.min(rate.capacity, b.tokens + Math.max(0, t - b.ts) * perMs);
      levels.push(level);
      if (level < cost) {
        const wait = Math.ceil((cost - level) / perMs);
        if (wait > worst) {
          worst = wait;
          index = i;
        }
      }
    }
    if (index !== -1) return { ok: false, retryAfterMs: worst, index };
    for (let i = 0; i < takes.length; i++) {
      const { key, rate, cost } = takes[i] as BucketTake;
      const b = this.buckets.get(key);
      const tokens = (levels[i] as number) - cost;
      if (b === undefined) {
        if (this.buckets.size >= this.maxBuckets) this.sweep(t);
        this.buckets.set(key, { tokens, ts: t });
        this.windows.set(key, rate.windowMs);
      } else {
        b.tokens = tokens;
        b.ts = t;
      }
    }
    return OK;
  }

  /** Buckets held (tests, metrics). */
  get size(): number {
    return this.buckets.size;
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }

  private sweep(t: number): void {
    for (const [key, b] of this.buckets) {
      if (t - b.ts >= (this.windows.get(key) ?? 0)) {
        this.buckets.delete(key);
        this.windows.delete(key);
      }
    }
    // Still full of live buckets: drop the oldest half rather than grow without bound.
    if (this.buckets.size >= this.maxBuckets) {
      let n = Math.floor(this.buckets.size / 2);
      for (const key of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(key);
        this.windows.delete(key);
      }
    }
  }
}

/**
 * All-or-nothing take over several token buckets, atomically in Redis, on the Redis server's clock (so several
 * gateway instances with skewed clocks agree). ARGV per bucket: capacity, window ms, cost. Returns {1} or
 * {0, retry-after ms, 1-based index of the refusing bucket}.
 */
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local worst = 0
local index = 0
for i = 1, #KEYS do
  local cap = tonumber(ARGV[(i - 1) * 3 + 1])
  local window = tonumber(ARGV[(i - 1) * 3 + 2])
  local cost = tonumber(ARGV[(i - 1) * 3 + 3])
  local rate = cap / window
  local v = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local level = cap
  if v[1] then
    level = math.min(cap, tonumber(v[1]) + math.max(0, now - tonumber(v[2])) * rate)
  end
  levels[i] = level
  if level < cost then
    local wait = math.ceil((cost - level) / rate)
    if wait > worst then worst = wait; index = i end
  end
end
if index > 0 then return {0, worst, index} end
for i = 1, #KEYS do
  local window = tonumber(ARGV[(i - 1) * 3 + 2])
  local cost = tonumber(ARGV[(i - 1) * 3 + 3])
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - cost), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[i], window * 2)
end
return {1}
`;

/** Options of the Redis limiter. */
export interface RedisLimiterOptions {
  url: string;
  prefix: string;
  timeoutMs: number;
}

type TakeCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

/** Token buckets in Redis: one round trip per call, shared and exact across gateway instances. */
export class RedisLimiterStore implements LimiterStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;

  constructor(private readonly options: RedisLimiterOptions) {
    this.redis = new Redis(options.url, {
      lazyConnect: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: options.timeoutMs,
      connectTimeout: Math.max(options.timeoutMs, 2000),
    });
    this.redis.on('error', () => {}); // surfaced per call as TG_LIMITER_UNAVAILABLE
    this.redis.defineCommand('toolgateTake', { lua: TAKE_SCRIPT });
  }

  async take(takes: readonly BucketTake[]): Promise<TakeResult> {
    const args: (string | number)[] = [];
    for (const t of takes) args.push(this.options.prefix + t.key);
    for (const t of takes) args.push(t.rate.capacity, t.rate.windowMs, t.cost);
    let reply: number[];
    try {
      reply = await (this.redis as unknown as { toolgateTake: TakeCommand }).toolgateTake(takes.length, ...args);
    } catch (err) {
      throw new GatewayError(
        'TG_LIMITER_UNAVAILABLE',
        'The rate limiter is unavailable, so the call was refused. Retry in a few seconds.',
        {
          cause: err,
          retryAfterMs: 2000,
        },
      );
    }
    if (reply[0] === 1) return OK;
    return { ok: false, retryAfterMs: Number(reply[1]), index: Number(reply[2]) - 1 };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
