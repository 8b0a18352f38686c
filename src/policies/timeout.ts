import { GatewayError } from '../errors.js';
import type { Policy, ToolCall, ToolResult, Next } from '../types.js';
import { formatDelay } from './tool-error.js';

/** Options of the timeout policy. */
export interface TimeoutPolicyOptions {
  timeoutMs: number;
  /** Where the limit comes from, named in the model-facing message (e.g. `tools."files__*".timeoutMs`). */
  source?: string;
}

/**
 * Bounds a call in time. On expiry the inner chain's signal is aborted with `TG_TIMEOUT` — the upstream request
 * is cancelled — and the call fails with that error, whatever the inner chain is still doing.
 */
export function createTimeoutPolicy(options: TimeoutPolicyOptions): Policy {
  const { timeoutMs } = options;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new GatewayError(
      'TG_CONFIG_INVALID',
      `timeout policy: timeoutMs must be a positive integer, got ${String(timeoutMs)}`,
    );
  }
  const source = options.source ?? 'timeoutMs';
  return function timeoutPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new GatewayError(
          'TG_TIMEOUT',
          `The tool "${call.entry.name}" did not answer within its time limit of ${formatDelay(timeoutMs)} (${source}) and was cancelled. Try again with a smaller request, or later.`,
          { data: { limitMs: timeoutMs, source } },
        );
        call.abort(err); // cancels the upstream request and everything else inside this policy
        reject(err);
      }, timeoutMs);
      timer.unref?.();
    });
    const inner = next(call);
    return Promise.race([inner, expired]).finally(() => {
      clearTimeout(timer);
      inner.catch(() => {}); // after a timeout the inner rejection is expected and already reported
    });
  };
}
