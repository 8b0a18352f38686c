/** Minimal JSON-RPC 2.0 shapes used on toolgate's own wire paths (faces, stdio upstreams, bench, check). */

export type RequestId = string | number;
export type JsonObject = Record<string, unknown>;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: JsonObject;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: JsonObject;
}

export interface JsonRpcSuccess {
  jsonrpc: '2.0';
  id: RequestId;
  result: JsonObject;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: RequestId | null;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

/** What a parsed value is, as JSON-RPC. */
export type MessageKind = 'request' | 'notification' | 'success' | 'failure' | 'invalid';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True for a valid JSON-RPC id (string or integer; never null). */
export function isRequestId(v: unknown): v is RequestId {
  return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
}

/** Classifies a parsed JSON value without throwing. */
export function classifyMessage(v: unknown): MessageKind {
  if (!isObject(v) || v['jsonrpc'] !== '2.0') return 'invalid';
  const hasId = 'id' in v;
  if (typeof v['method'] === 'string') {
    if (v['params'] !== undefined && !isObject(v['params'])) return 'invalid';
    if (!hasId) return 'notification';
    return isRequestId(v['id']) ? 'request' : 'invalid';
  }
  if ('result' in v && hasId && isRequestId(v['id'])) return isObject(v['result']) ? 'success' : 'invalid';
  if ('error' in v && hasId) {
    const e = v['error'];
    if (isObject(e) && typeof e['code'] === 'number' && typeof e['message'] === 'string') return 'failure';
  }
  return 'invalid';
}

/** Builds a JSON-RPC error response. */
export function errorResponse(id: RequestId | null, code: number, message: string, data?: unknown): JsonRpcFailure {
  return data === undefined
    ? { jsonrpc: '2.0', id, error: { code, message } }
    : { jsonrpc: '2.0', id, error: { code, message, data } };
}

/** Builds a JSON-RPC success response. */
export function successResponse(id: RequestId, result: JsonObject): JsonRpcSuccess {
  return { jsonrpc: '2.0', id, result };
}

export { isObject };
