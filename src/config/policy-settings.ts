import { z } from 'zod';

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
  })
  .describe('Policy settings for tool calls.');

/** Policy settings as written in config (every key optional). */
export type PolicySettings = z.infer<typeof PolicySettingsSchema>;

/** Built-in policy defaults, applied under `defaults`. */
export const DEFAULT_TIMEOUT_MS = 30_000;
