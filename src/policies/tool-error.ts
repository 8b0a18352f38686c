import { ERROR_CODES, type GatewayError } from '../errors.js';
import type { ToolResult } from '../types.js';

/** `_meta` key of the machine-readable error on an `isError` result made by toolgate. */
export const TOOL_ERROR_META_KEY = 'toolgate/error';

/**
 * Turns a tool-surface `GatewayError` into the `isError: true` result the model reads: the message (written
 * for the model), plus a retry hint when one helps, and `_meta["toolgate/error"]` with the code for programs.
 */
export function toolErrorResult(err: GatewayError, correlationId: string): ToolResult {
  const retryable = ERROR_CODES[err.code].retryable;
  let text = err.message;
  if (retryable && err.retryAfterMs !== undefined && !/retry|try again/i.test(text)) {
    text += ` You may retry in ${formatDelay(err.retryAfterMs)}.`;
  }
  const meta: Record<string, unknown> = { code: err.code, correlationId, retryable };
  if (err.retryAfterMs !== undefined) meta['retryAfterMs'] = err.retryAfterMs;
  if (err.data !== undefined) meta['data'] = err.data;
  return { content: [{ type: 'text', text }], isError: true, _meta: { [TOOL_ERROR_META_KEY]: meta } };
}

/** "1.5 s", "200 ms", "2 min". */
export function formatDelay(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 60_000)} min`;
}
