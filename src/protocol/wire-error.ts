import { ERROR_CODES, isGatewayError } from '../errors.js';
import { RemoteError } from '../jsonrpc/peer.js';
import type { JsonRpcErrorObject } from '../jsonrpc/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { Era } from '../types.js';

/** A JSON-RPC error ready for the wire, with the HTTP status and headers the HTTP face uses. */
export interface WireError {
  error: JsonRpcErrorObject;
  httpStatus: number;
  headers?: Record<string, string>;
}

/** Legacy (≤2025-11-25) clients know "resource not found" as -32002; 2026-07-28 moved it to -32602. */
const LEGACY_RESOURCE_NOT_FOUND = -32002;

/**
 * Converts any error thrown while serving a request into the JSON-RPC error the client gets — the one place this
 * happens. Unknown errors are masked: the client gets -32603 with a correlation id, the log gets everything.
 */
export function toWireError(err: unknown, era: Era, log: Logger, correlationId: string): WireError {
  if (isGatewayError(err)) {
    const spec = ERROR_CODES[err.code];
    let code = spec.jsonRpcCode ?? -32603;
    if (err.code === 'TG_RESOURCE_NOT_FOUND' && era === 'legacy') code = LEGACY_RESOURCE_NOT_FOUND;
    let httpStatus = spec.httpStatus ?? 200;
    // Only the modern HTTP transport gives "method not found" its own status (404); legacy sends it in a 200.
    if (err.code === 'TG_METHOD_NOT_FOUND' && era === 'legacy') httpStatus = 200;
    const data = { ...(err.data ?? {}), code: err.code };
    const wire: WireError = { error: { code, message: err.message, data }, httpStatus };
    const headers: Record<string, string> = { ...(err.headers ?? {}) };
    if (err.retryAfterMs !== undefined && (httpStatus === 429 || httpStatus === 503)) {
      headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
    }
    if (Object.keys(headers).length > 0) wire.headers = headers;
    return wire;
  }
  if (err instanceof RemoteError) {
    const error: JsonRpcErrorObject = { code: err.code, message: err.message };
    if (err.data !== undefined) error.data = err.data;
    return { error, httpStatus: 200 };
  }
  log.error({ err, cid: correlationId }, 'unexpected error while serving a request (masked for the client)');
  return {
    error: { code: -32603, message: `Internal error (reference: ${correlationId})`, data: { code: 'TG_INTERNAL' } },
    httpStatus: 200,
  };
}
