import { z } from 'zod';
import { RateLimitSettingsSchema, RedactSettingsSchema } from './security.js';
import {
  CircuitBreakerSettingsSchema,
  ConcurrencySettingsSchema,
  FallbackSettingsSchema,
  OutputSettingsSchema,
  RetrySettingsSchema,
  ValidateSettingsSchema,
} from './reliability-settings.js';

/**
 * Per-call policy settings. The same object is accepted at three levels, merged from general to specific:
 * `defaults` → `upstreams.<name>.policies` → `tools.<glob>` (every matching glob, least specific first).
 * Nested objects merge key by key. Each policy file owns the meaning of its key and validates it once, when the
 * catalog is built.
 */
export const PolicySettingsSchema = z
  .strictObject({
    timeoutMs: z
      .number()
      .int()
      .positive()
      .max(24 * 60 * 60 * 1000)
      .optional()
      .describe(
        'Time limit of one tool call in milliseconds (default 30000). On expiry the upstream call is cancelled and the model gets an isError result naming the limit.',
      ),
    rateLimit: RateLimitSettingsSchema.optional(),
    redact: RedactSettingsSchema.optional(),
    validate: ValidateSettingsSchema.optional(),
    output: OutputSettingsSchema.optional(),
    retry: RetrySettingsSchema.optional(),
    circuitBreaker: CircuitBreakerSettingsSchema.optional(),
    concurrency: ConcurrencySettingsSchema.optional(),
    fallback: FallbackSettingsSchema.optional(),
  })
  .describe('Policy settings for tool calls.');

/** Policy settings as written in config (every key optional). */
export type PolicySettings = z.infer<typeof PolicySettingsSchema>;

/** Built-in policy defaults, applied under `defaults`. */
export const DEFAULT_TIMEOUT_MS = 30_000;
