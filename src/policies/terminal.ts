import { GatewayError, isGatewayError } from '../errors.js';
import { RemoteError } from '../jsonrpc/peer.js';
import { isObject, type JsonObject } from '../jsonrpc/types.js';
import type { ToolCall, ToolResult, UpstreamCallOptions } from '../types.js';

/**
 * The innermost step: sends `tools/call` to the call's target upstream and checks the answer is a tool result.
 * A JSON-RPC error from the upstream becomes `TG_UPSTREAM_ERROR` (the model can act on it); a malformed answer
 * `TG_UPSTREAM_PROTOCOL`.
 */
export async function callUpstreamTool(call: ToolCall): Promise<ToolResult> {
  const { upstream, toolName } = call.target;
  const params: JsonObject = { name: toolName, arguments: call.arguments };
  if (call.meta !== undefined) params['_meta'] = call.meta;
  const options: UpstreamCallOptions = {
    signal: call.signal,
    principal: call.principal,
    correlationId: call.correlationId,
    log: call.log,
  };
  if (call.progress !== undefined) options.onProgress = call.progress;
  if (call.clientRequest !== undefined) options.onRequest = call.clientRequest;
  if (call.clientNotify !== undefined) options.onNotification = call.clientNotify;
  let result: JsonObject;
  try {
    result = await upstream.call('tools/call', params, options);
  } catch (err) {
    if (err instanceof RemoteError) {
      throw new GatewayError('TG_UPSTREAM_ERROR', `The tool "${call.entry.name}" failed upstream: ${err.message}`, {
        cause: err,
        data: { upstreamCode: err.code },
      });
    }
    if (isGatewayError(err) && err.code === 'TG_UNKNOWN_TOOL') {
      throw new GatewayError('TG_UPSTREAM_ERROR', `The upstream "${upstream.name}" no longer offers "${toolName}".`, {
        cause: err,
      });
    }
    throw err;
  }
  if (!Array.isArray(result['content'])) {
    if (result['resultType'] === 'input_required') return result as unknown as ToolResult;
    throw new GatewayError(
      'TG_UPSTREAM_PROTOCOL',
      `The upstream "${upstream.name}" returned a malformed tool result (no content array).`,
    );
  }
  if (result['isError'] !== undefined && typeof result['isError'] !== 'boolean') {
    throw new GatewayError(
      'TG_UPSTREAM_PROTOCOL',
      `The upstream "${upstream.name}" returned a malformed tool result (isError is not boolean).`,
    );
  }
  if (!result['content'].every((b) => isObject(b) && typeof b['type'] === 'string')) {
    throw new GatewayError(
      'TG_UPSTREAM_PROTOCOL',
      `The upstream "${upstream.name}" returned a malformed content block.`,
    );
  }
  return result as unknown as ToolResult;
}
