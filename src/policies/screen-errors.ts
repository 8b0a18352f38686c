import { GatewayError, isGatewayError } from '../errors.js';
import { screenErrorText } from '../security/error-screen.js';
import type { ContentBlock, Next, Policy, ToolCall, ToolResult } from '../types.js';
import { TOOL_ERROR_META_KEY } from './tool-error.js';

/**
 * Screens upstream error text — `isError` results written by the upstream and `TG_UPSTREAM_ERROR` messages —
 * for stack traces, absolute paths and internal addresses before the client sees it. The unscreened text goes to
 * the log under the call's correlation id. toolgate's own error results are left alone.
 */
export function createScreenErrorsPolicy(): Policy {
  const screenThrown = (call: ToolCall, err: unknown): never => {
    if (isGatewayError(err) && err.code === 'TG_UPSTREAM_ERROR') {
      const s = screenErrorText(err.message);
      if (s.changed) {
        call.log.warn({ upstreamError: err.message }, 'upstream error text screened for the client');
        throw new GatewayError(err.code, `${s.text} (reference: ${call.correlationId})`, {
          cause: err,
          ...(err.data === undefined ? {} : { data: err.data }),
        });
      }
    }
    throw err;
  };
  const screenResult = (call: ToolCall, result: ToolResult): ToolResult => {
    if (result.isError !== true || result._meta?.[TOOL_ERROR_META_KEY] !== undefined || !Array.isArray(result.content))
      return result;
    let content: ContentBlock[] | undefined;
    for (let i = 0; i < result.content.length; i++) {
      const b = result.content[i] as ContentBlock;
      if (b.type !== 'text' || typeof b['text'] !== 'string') continue;
      const s = screenErrorText(b['text']);
      if (!s.changed) continue;
      call.log.warn({ upstreamError: b['text'] }, 'upstream error text screened for the client');
      (content ??= result.content.slice())[i] = { ...b, text: `${s.text} (reference: ${call.correlationId})` };
    }
    return content === undefined ? result : { ...result, content };
  };
  // Promise callbacks rather than an async function: this wraps every call of every tool.
  return function screenErrorsPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    return next(call).then(
      (result) => screenResult(call, result),
      (err: unknown) => screenThrown(call, err),
    );
  };
}
