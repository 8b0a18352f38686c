import type { Logger } from '../telemetry/logger.js';
import type { GatewayMetrics } from '../telemetry/metrics.js';
import { CircuitBreaker, type BreakerScope, type BreakerState, type CircuitBreakerOptions } from './circuit-breaker.js';
import { ConcurrencyLimiter, type ConcurrencyLimiterOptions } from './concurrency.js';

const STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

type BreakerConfig = Omit<CircuitBreakerOptions, 'onStateChange' | 'now'>;
type LimiterConfig = Omit<ConcurrencyLimiterOptions, 'onWait' | 'now'>;

/**
 * The state of the resilience policies that must outlive one tool entry: circuit breakers and concurrency limiters
 * by scope and name. One per gateway. Tool entries are rebuilt when a tool's definition or settings change, and
 * all tools of an upstream share its breaker and limiter, so these live here rather than in policy closures.
 * An instance is replaced only when its settings change (a config reload); then its state starts afresh.
 */
export class ResilienceRegistry {
  private readonly breakers = new Map<string, { key: string; breaker: CircuitBreaker }>();
  private readonly limiters = new Map<string, { key: string; limiter: ConcurrencyLimiter }>();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
    private readonly now?: () => number,
  ) {}

  /** The breaker of a tool or upstream, created (or replaced, when its settings changed) for these settings. */
  breaker(config: BreakerConfig): CircuitBreaker {
    const id = `${config.scope}:${config.name}`;
    const key = settingsKey(config);
    const existing = this.breakers.get(id);
    if (existing !== undefined && existing.key === key) return existing.breaker;
    const { scope, name } = config;
    const breaker = new CircuitBreaker({
      ...config,
      ...(this.now === undefined ? {} : { now: this.now }),
      onStateChange: (_breaker, from, to) => {
        this.metrics.circuitState.set({ scope, name }, STATE_VALUE[to]);
        this.metrics.circuitTransitions.inc({ scope, name, state: to });
        const fields = { scope, name, from, to };
        if (to === 'open') this.logger.warn(fields, 'circuit breaker opened');
        else
          this.logger.info(fields, to === 'closed' ? 'circuit breaker closed' : 'circuit breaker half-open: probing');
      },
    });
    this.metrics.circuitState.set({ scope, name }, 0);
    this.breakers.set(id, { key, breaker });
    return breaker;
  }

  /** An existing breaker, if any (for calls redirected to another upstream, and for the fallback policy's check). */
  findBreaker(scope: BreakerScope, name: string): CircuitBreaker | undefined {
    return this.breakers.get(`${scope}:${name}`)?.breaker;
  }

  /** The limiter of a tool or upstream, created (or replaced, when its settings changed) for these settings. */
  limiter(config: LimiterConfig): ConcurrencyLimiter {
    const id = `${config.scope}:${config.name}`;
    const key = settingsKey(config);
    const existing = this.limiters.get(id);
    if (existing !== undefined && existing.key === key) return existing.limiter;
    const histogram = this.metrics.queueWait.labels({ scope: config.scope, name: config.name });
    const limiter = new ConcurrencyLimiter({ ...config, onWait: (ms) => histogram.observe(ms / 1000) });
    this.limiters.set(id, { key, limiter });
    return limiter;
  }

  /** The existing limiter of an upstream, if any. */
  findLimiter(upstreamName: string): ConcurrencyLimiter | undefined {
    return this.limiters.get(`upstream:${upstreamName}`)?.limiter;
  }

  /** Every breaker, for status pages and tests. */
  listBreakers(): CircuitBreaker[] {
    return [...this.breakers.values()].map((b) => b.breaker);
  }
}

/** What decides whether an instance can be kept: the settings, not where they were written (`source`). */
function settingsKey(config: { source?: string }): string {
  const { source: _source, ...settings } = config;
  return JSON.stringify(settings);
}
