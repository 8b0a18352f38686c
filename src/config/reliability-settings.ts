import { z } from 'zod';
import { isErrorCode } from '../errors.js';
import type { Config } from './schema.js';

/*
 * Settings of the validation and resilience policies (validate, output, retry, circuitBreaker, concurrency,
 * fallback). They live under `defaults`, `upstreams.<name>.policies` and `tools.<glob>` (see policy-settings.ts)
 * and merge key by key, so no key here carries a zod default: a default applied at one level would override a
 * value set at a more general one. Built-in defaults are the `DEFAULT_*` constants, applied by the factories.
 */

/** Default `validate.autocorrect`. */
export const DEFAULT_AUTOCORRECT = 'fix';
/** Default `output.maxBytes` (1 MiB). */
export const DEFAULT_OUTPUT_MAX_BYTES = 1024 * 1024;
/** Default `retry.attempts` (the first call included). */
export const DEFAULT_RETRY_ATTEMPTS = 3;
export const DEFAULT_RETRY_INITIAL_DELAY_MS = 200;
export const DEFAULT_RETRY_MAX_DELAY_MS = 5_000;
/** Codes retried by default: the call never reached the upstream, or the transport failed (HTTP 429/5xx). */
export const DEFAULT_RETRY_ON = ['TG_UPSTREAM_TRANSPORT', 'TG_UPSTREAM_UNAVAILABLE'] as const;
/** Defaults of one circuit breaker level. */
export const DEFAULT_TOOL_BREAKER = {
  consecutiveFailures: 5,
  minimumCalls: 20,
  windowMs: 60_000,
  openMs: 30_000,
  halfOpenProbes: 1,
};
export const DEFAULT_UPSTREAM_BREAKER = {
  consecutiveFailures: 10,
  minimumCalls: 50,
  windowMs: 60_000,
  openMs: 15_000,
  halfOpenProbes: 2,
};
/** Default `concurrency.*.maxWaitMs`. */
export const DEFAULT_QUEUE_MAX_WAIT_MS = 10_000;

const ms = (max = 24 * 60 * 60 * 1000) => z.number().int().min(0).max(max);

/** Input validation and auto-correction. */
export const ValidateSettingsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe(
        "Validate every call's arguments against the tool's input schema before it reaches the upstream (default true).",
      ),
    autocorrect: z
      .enum(['off', 'suggest', 'fix'])
      .optional()
      .describe(
        'Repair of unambiguous mistakes (enum near-misses, numbers/booleans sent as strings, a single value where an array is expected, a missing optional field with a schema default): `fix` applies them and reports them in the result _meta["toolgate/corrections"] (default); `suggest` only names them in the error; `off` does neither.',
      ),
    invalidSchema: z
      .enum(['refuse', 'serve-unvalidated'])
      .optional()
      .describe(
        'What to do with a tool whose input schema cannot be compiled (reported at registration): `refuse` answers every call with an isError result (default); `serve-unvalidated` forwards calls without validation.',
      ),
  })
  .describe(
    'Validation of tool arguments (JSON Schema 2020-12 by default, draft-07 when $schema says so; remote $refs are never fetched).',
  );

/** Output checks: structuredContent against outputSchema, and the size cap. */
export const OutputSettingsSchema = z
  .strictObject({
    schema: z
      .enum(['off', 'check', 'enforce'])
      .optional()
      .describe(
        "When the tool declares an outputSchema, check structuredContent: `check` logs and counts a violation and passes the result through (default); `enforce` replaces it with an isError result; `off` skips the check. An upstream's own error result is never replaced.",
      ),
    maxBytes: z
      .number()
      .int()
      .min(0)
      .max(256 * 1024 * 1024)
      .optional()
      .describe(
        "Cap on the UTF-8 size of a result's content blocks (default 1048576 = 1 MiB; 0 = no cap). Over it, text is cut with a marker saying how much was cut and how to ask for less; structuredContent is never cut.",
      ),
    maxTokens: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Optional cap in estimated tokens (characters / 4) on the same content, applied with maxBytes.'),
  })
  .describe('Checks of tool results.');

/** Retries of calls that are safe to repeat. */
export const RetrySettingsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe('Retry transient failures of calls that are safe to repeat (default true).'),
    attempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .optional()
      .describe(
        "Most calls made in total, the first included (default 3). The total time never exceeds the call's timeoutMs.",
      ),
    initialDelayMs: ms(60_000)
      .optional()
      .describe(
        'Base of the exponential backoff (default 200); each delay is random in [0, base·2^(n-1)] (full jitter).',
      ),
    maxDelayMs: ms(10 * 60_000)
      .optional()
      .describe(
        'Upper bound of one backoff delay (default 5000). A longer Retry-After from the upstream is still honoured when the time budget allows.',
      ),
    budgetMs: ms()
      .optional()
      .describe("Optional cap on the time spent on all attempts; the call's timeoutMs bounds it anyway."),
    idempotent: z
      .boolean()
      .optional()
      .describe(
        'Whether the tool is safe to repeat. Unset: trust its readOnlyHint/idempotentHint annotations. true: retry even without them. false: never retry.',
      ),
    on: z
      .array(z.string().refine(isErrorCode, { message: 'not a TG_* error code' }))
      .optional()
      .describe(
        'Error codes that are retried (default TG_UPSTREAM_TRANSPORT — network errors, HTTP 429/5xx — and TG_UPSTREAM_UNAVAILABLE — upstream restarting). TG_UPSTREAM_CRASHED is left out on purpose: the call in flight may be what crashed the upstream.',
      ),
    errorResults: z
      .boolean()
      .optional()
      .describe(
        'Also retry isError results of the upstream (for servers that report transient failures that way; default false).',
      ),
  })
  .describe('Retries with exponential backoff and full jitter, only for tools that are safe to repeat.');

const BreakerLevelSchema = z
  .strictObject({
    enabled: z.boolean().optional().describe('Set false to turn this breaker off (default true).'),
    consecutiveFailures: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe('Failures in a row that open the breaker.'),
    failureRate: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe(
        'Failure ratio over the rolling window that opens the breaker (0–1; unset = consecutive failures only).',
      ),
    minimumCalls: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Calls the window must hold before failureRate is judged.'),
    windowMs: ms().min(100).optional().describe('Length of the rolling window of failureRate.'),
    openMs: ms()
      .min(1)
      .optional()
      .describe('How long the breaker stays open before it lets probe calls through (half-open).'),
    halfOpenProbes: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe(
        'Probe calls let through at once while half-open; one success closes the breaker, one failure reopens it.',
      ),
  })
  .describe('One circuit breaker.');

/** Circuit breakers per tool and per upstream. */
export const CircuitBreakerSettingsSchema = z
  .strictObject({
    tool: BreakerLevelSchema.optional().describe(
      'The breaker of each tool (defaults: consecutiveFailures 5, minimumCalls 20, windowMs 60000, openMs 30000, halfOpenProbes 1).',
    ),
    upstream: BreakerLevelSchema.optional().describe(
      'The breaker shared by all tools of an upstream (defaults: consecutiveFailures 10, minimumCalls 50, windowMs 60000, openMs 15000, halfOpenProbes 2). Set it under defaults or upstreams.<name>.policies, not per tool.',
    ),
    countErrorResults: z
      .boolean()
      .optional()
      .describe(
        'Count isError results of the upstream as failures (default false: only transport failures, crashes, timeouts and protocol errors count; caller mistakes never do).',
      ),
  })
  .describe(
    'Circuit breakers: after repeated upstream failures, calls fail fast with a retry hint until a probe succeeds.',
  );

const LimitSchema = z
  .strictObject({
    maxConcurrent: z.number().int().min(1).max(100_000).describe('Calls in flight at once.'),
    maxQueue: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .optional()
      .describe('Calls that may wait for a slot (default 0: over the limit fails at once).'),
    maxWaitMs: ms().optional().describe('Longest wait for a slot (default 10000).'),
  })
  .describe('A concurrency limit with a bounded wait queue.');

/** Concurrency limits per tool and per upstream. */
export const ConcurrencySettingsSchema = z
  .strictObject({
    tool: LimitSchema.optional().describe('Limit of each tool (default: none).'),
    upstream: LimitSchema.optional().describe(
      'Limit shared by all tools of an upstream (default: none; e.g. maxConcurrent 1 for a stdio server that handles one request at a time). Set it under defaults or upstreams.<name>.policies, not per tool.',
    ),
  })
  .describe('Concurrency limits; over the limit and the queue, calls get an isError result with a retry hint.');

/** Failover to another upstream serving the same tool names. */
export const FallbackSettingsSchema = z
  .strictObject({
    upstream: z
      .string()
      .min(1)
      .describe(
        'Upstream that serves the same tool names; calls go there while the primary is down or its breaker is open.',
      ),
    tool: z
      .string()
      .min(1)
      .optional()
      .describe("Tool name at the fallback upstream, when it differs from the primary's (per-tool setting)."),
  })
  .describe('Failover; the result\'s _meta["toolgate/fallback"] says when it was used.');

/** A problem found by `checkReliabilitySettings` (the shape of config/load.ts ConfigProblem). */
export interface ReliabilityProblem {
  path: string;
  message: string;
  hint?: string;
}

/** Cross-key checks the schema cannot express: fallback targets exist, upstream-wide limits are not set per tool. */
export function checkReliabilitySettings(config: Config): ReliabilityProblem[] {
  const problems: ReliabilityProblem[] = [];
  const names = Object.keys(config.upstreams);
  const checkFallback = (target: string | undefined, path: string, self?: string): void => {
    if (target === undefined) return;
    if (!Object.hasOwn(config.upstreams, target)) {
      problems.push({
        path,
        message: `fallback upstream "${target}" is not configured`,
        hint: `one of: ${names.join(', ') || '(none)'}`,
      });
    } else if (target === self) {
      problems.push({ path, message: 'an upstream cannot be its own fallback', hint: 'name another upstream' });
    }
  };
  checkFallback(config.defaults.fallback?.upstream, 'defaults.fallback.upstream');
  for (const [name, up] of Object.entries(config.upstreams)) {
    checkFallback(up.policies?.fallback?.upstream, `upstreams.${name}.policies.fallback.upstream`, name);
  }
  for (const [glob, tool] of Object.entries(config.tools)) {
    checkFallback(tool.fallback?.upstream, `tools.${glob}.fallback.upstream`);
    for (const key of ['circuitBreaker', 'concurrency'] as const) {
      if (tool[key]?.upstream !== undefined) {
        problems.push({
          path: `tools.${glob}.${key}.upstream`,
          message: 'upstream-wide settings cannot vary per tool',
          hint: `set ${key}.upstream under defaults or upstreams.<name>.policies`,
        });
      }
    }
  }
  return problems;
}
