import { ERROR_CODES, GatewayError, isGatewayError } from '../errors.js';
import type { Policy, ToolCall, ToolResult, Next } from '../types.js';
import { toolErrorResult } from './tool-error.js';

/** Options of the mask-errors policy. */
export interface MaskErrorsPolicyOptions {
  /** Text the model sees for an unexpected error; the correlation id is appended. */
  message?: string;
}

const DEFAULT_MESSAGE = 'The tool failed with an unexpected internal error.';

/**
 * The outermost policy: turns every failure into something the client can use. Tool-surface `GatewayError`s
 * become `isError` results with their model-facing message; protocol errors (unknown tool, bad params) are
 * re-thrown for the edge to send as JSON-RPC errors; anything else is masked — a generic message with the
 * correlation id goes to the client, the full error to the log.
 */
export function createMaskErrorsPolicy(options: MaskErrorsPolicyOptions = {}): Policy {
  const message = options.message ?? DEFAULT_MESSAGE;
  return async function maskErrorsPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    try {
      return await next(call);
    } catch (err) {
      if (isGatewayError(err)) {
        const surface = ERROR_CODES[err.code].surface;
        if (surface === 'tool') {
          call.log.info({ code: err.code, err: err.message }, 'tool call failed');
          return toolErrorResult(err, call.correlationId);
        }
        if (surface === 'protocol') throw err;
      }
      call.log.error({ err }, 'unexpected error in tool call (masked for the client)');
      return toolErrorResult(
        new GatewayError('TG_TOOL_INTERNAL', `${message} Reference: ${call.correlationId}.`),
        call.correlationId,
      );
    }
  };
}
