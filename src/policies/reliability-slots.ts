import { DEFAULT_TIMEOUT_MS } from '../config/policy-settings.js';
import { DEFAULT_OUTPUT_MAX_BYTES } from '../config/reliability-settings.js';
import type { ErrorCode } from '../errors.js';
import { createCapOutputPolicy, narrowingFields } from './cap-output.js';
import { breakerOptions, createCircuitBreakerPolicy } from './circuit-breaker.js';
import { createConcurrencyPolicy, limiterOptions } from './concurrency.js';
import { createFallbackPolicy } from './fallback.js';
import type { PolicyBuildContext, PolicyServices, PolicySlot } from './index.js';
import { ResilienceRegistry } from './resilience-registry.js';
import { createRetryPolicy, isSafeToRepeat } from './retry.js';
import { createValidateOutputPolicy } from './validate-output.js';
import { createValidatePolicy } from './validate.js';

/*
 * The slots of the validation and resilience policies. Each reads its merged settings (defaults already absent
 * from the schema, filled here or in the factory) and returns undefined when its policy does not apply to the
 * tool, so a tool pays only for what it uses. Their order in POLICY_CHAIN is explained there.
 */

const registries = new WeakMap<PolicyServices, ResilienceRegistry>();

/** The gateway's registry; services built without one (library, unit use) get one of their own, made once. */
function registryOf(services: PolicyServices): ResilienceRegistry {
  if (services.resilience !== undefined) return services.resilience;
  let r = registries.get(services);
  if (r === undefined) registries.set(services, (r = new ResilienceRegistry(services.logger, services.metrics)));
  return r;
}

const source = (ctx: PolicyBuildContext, key: string, sub?: string): string => {
  const base = ctx.sources[key] ?? key;
  return sub === undefined ? base : `${base}.${sub}`;
};

/** Input validation and auto-correction. */
export const VALIDATE_SLOT: PolicySlot = {
  name: 'validate',
  build: (ctx) => {
    const v = ctx.settings.validate;
    if (v?.enabled === false) return undefined;
    const { metrics, logger } = ctx.services;
    return createValidatePolicy({
      toolName: ctx.toolName,
      upstreamName: ctx.upstreamName,
      inputSchema: ctx.definition.inputSchema,
      autocorrect: v?.autocorrect,
      invalidSchema: v?.invalidSchema,
      logger,
      corrections: metrics.argumentCorrections,
      failures: metrics.validationFailures,
    });
  },
};

/** The output size cap. */
export const CAP_OUTPUT_SLOT: PolicySlot = {
  name: 'cap-output',
  build: (ctx) => {
    const o = ctx.settings.output;
    const maxBytes = o?.maxBytes ?? DEFAULT_OUTPUT_MAX_BYTES;
    if (maxBytes === 0 && o?.maxTokens === undefined) return undefined;
    const src =
      o?.maxTokens !== undefined && maxBytes === 0
        ? source(ctx, 'output', 'maxTokens')
        : source(ctx, 'output', 'maxBytes');
    return createCapOutputPolicy({
      toolName: ctx.toolName,
      maxBytes: maxBytes === 0 ? Number.MAX_SAFE_INTEGER : maxBytes,
      maxTokens: o?.maxTokens,
      source: src,
      narrowingFields: narrowingFields(ctx.definition.inputSchema),
      counter: ctx.services.metrics.outputTruncations,
    });
  },
};

/** structuredContent against outputSchema. */
export const VALIDATE_OUTPUT_SLOT: PolicySlot = {
  name: 'validate-output',
  build: (ctx) => {
    const mode = ctx.settings.output?.schema ?? 'check';
    const outputSchema = ctx.definition.outputSchema;
    if (mode === 'off' || outputSchema === undefined) return undefined;
    return createValidateOutputPolicy({
      toolName: ctx.toolName,
      upstreamName: ctx.upstreamName,
      outputSchema,
      mode,
      logger: ctx.services.logger,
      counter: ctx.services.metrics.validationFailures,
    });
  },
};

/** Retries, only for tools safe to repeat. */
export const RETRY_SLOT: PolicySlot = {
  name: 'retry',
  build: (ctx) => {
    const r = ctx.settings.retry;
    if (r?.enabled === false || r?.attempts === 1) return undefined;
    if (!isSafeToRepeat(ctx.definition.annotations, r?.idempotent)) return undefined;
    return createRetryPolicy({
      attempts: r?.attempts,
      initialDelayMs: r?.initialDelayMs,
      maxDelayMs: r?.maxDelayMs,
      timeoutMs: ctx.settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      budgetMs: r?.budgetMs,
      on: r?.on as ErrorCode[] | undefined,
      errorResults: r?.errorResults,
      counter: ctx.services.metrics.retries,
    });
  },
};

/** Failover to another upstream. */
export const FALLBACK_SLOT: PolicySlot = {
  name: 'fallback',
  build: (ctx) => {
    const f = ctx.settings.fallback;
    if (f === undefined || f.upstream === ctx.upstreamName) return undefined;
    const { upstreams, logger, metrics } = ctx.services;
    const resilience = registryOf(ctx.services);
    const primary = upstreams.get(ctx.upstreamName);
    const fallback = upstreams.get(f.upstream);
    if (primary === undefined || fallback === undefined) {
      logger.warn(
        { tool: ctx.toolName, fallback: f.upstream },
        'fallback upstream is not running (disabled?); no failover for this tool',
      );
      return undefined;
    }
    return createFallbackPolicy({
      toolName: ctx.toolName,
      primary,
      fallback,
      fallbackToolName: f.tool,
      registry: resilience,
      counter: metrics.fallbackCalls,
    });
  },
};

/** Circuit breakers of the tool and of its upstream. */
export const CIRCUIT_BREAKER_SLOT: PolicySlot = {
  name: 'circuit-breaker',
  build: (ctx) => {
    const cb = ctx.settings.circuitBreaker;
    const resilience = registryOf(ctx.services);
    const toolOpts = breakerOptions('tool', ctx.toolName, cb?.tool, source(ctx, 'circuitBreaker', 'tool'));
    const upOpts = breakerOptions(
      'upstream',
      ctx.upstreamName,
      cb?.upstream,
      source(ctx, 'circuitBreaker', 'upstream'),
    );
    if (toolOpts === undefined && upOpts === undefined && ctx.settings.fallback === undefined) return undefined;
    return createCircuitBreakerPolicy({
      toolName: ctx.toolName,
      upstreamName: ctx.upstreamName,
      tool: toolOpts === undefined ? undefined : resilience.breaker(toolOpts),
      upstream: upOpts === undefined ? undefined : resilience.breaker(upOpts),
      registry: resilience,
      countErrorResults: cb?.countErrorResults,
    });
  },
};

/** Concurrency limits of the tool and of its upstream. */
export const CONCURRENCY_SLOT: PolicySlot = {
  name: 'concurrency',
  build: (ctx) => {
    const c = ctx.settings.concurrency;
    const resilience = registryOf(ctx.services);
    const toolOpts = limiterOptions('tool', ctx.toolName, c?.tool, source(ctx, 'concurrency', 'tool'));
    const upOpts = limiterOptions('upstream', ctx.upstreamName, c?.upstream, source(ctx, 'concurrency', 'upstream'));
    // A tool with a fallback keeps the policy: a redirected call must respect the fallback upstream's limit.
    if (toolOpts === undefined && upOpts === undefined && ctx.settings.fallback === undefined) return undefined;
    return createConcurrencyPolicy({
      upstreamName: ctx.upstreamName,
      tool: toolOpts === undefined ? undefined : resilience.limiter(toolOpts),
      upstream: upOpts === undefined ? undefined : resilience.limiter(upOpts),
      registry: resilience,
    });
  },
};
