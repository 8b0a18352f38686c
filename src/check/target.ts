import type { JsonObject } from '../jsonrpc/types.js';
import type { ProgressUpdate } from '../jsonrpc/peer.js';
import { VERSION } from '../version.js';

/** The protocol era a target speaks (spec terminology: legacy ≤ 2025-11-25, modern ≥ 2026-07-28). */
export type Era = 'legacy' | 'modern';

export const MODERN_VERSION = '2026-07-28';
export const LEGACY_VERSION = '2025-11-25';
export const CLIENT_INFO = { name: 'toolgate-check', version: VERSION };

/** Options of one request to the target. Every request is bounded in time. */
export interface RpcOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (update: ProgressUpdate) => void;
  /** Extra HTTP headers for this request only (ignored on stdio). */
  headers?: Record<string, string>;
}

/** What the handshake (or discovery) told us about the server. */
export interface ServerIdentity {
  name?: string;
  version?: string;
  protocolVersion: string;
  capabilities: JsonObject;
  instructions?: string;
}

/** A connected MCP server, either era, either transport. Requests carry the era's envelope automatically. */
export interface McpTarget {
  readonly kind: 'stdio' | 'http';
  readonly era: Era;
  readonly identity: ServerIdentity;
  /** Sends a request; resolves with the result, rejects with `RemoteError` (JSON-RPC error) or a timeout/transport error. */
  request(method: string, params?: JsonObject, options?: RpcOptions): Promise<JsonObject>;
  /** Sends a notification. */
  notify(method: string, params?: JsonObject): Promise<void>;
  /** True while the server still answers (process alive / socket reachable). */
  alive(): boolean;
  /** Ends the connection and whatever the checker started; safe to call twice. */
  close(): Promise<void>;
}

/** Default per-request bound. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/** A request that got no answer in time. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`${method}: no response within ${timeoutMs} ms`);
  }
}

/** Why a target could not be checked at all (spawn failure, handshake failure, garbage, hang). */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}

/** Adds the 2026-07-28 per-request `_meta` envelope to params (legacy params pass unchanged). */
export function withEnvelope(era: Era, params: JsonObject | undefined): JsonObject | undefined {
  if (era === 'legacy') return params;
  const meta = isPlainObject(params?.['_meta']) ? params['_meta'] : {};
  return {
    ...(params ?? {}),
    _meta: {
      'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
      ...meta,
    },
  };
}

/** The params of a legacy `initialize`. */
export function initializeParams(): JsonObject {
  return { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: CLIENT_INFO };
}

/** Reads server identity from an `initialize` result. */
export function identityFromInitialize(result: JsonObject): ServerIdentity {
  const info = isPlainObject(result['serverInfo']) ? result['serverInfo'] : {};
  return compactIdentity({
    name: typeof info['name'] === 'string' ? info['name'] : undefined,
    version: typeof info['version'] === 'string' ? info['version'] : undefined,
    protocolVersion: typeof result['protocolVersion'] === 'string' ? result['protocolVersion'] : 'unknown',
    capabilities: isPlainObject(result['capabilities']) ? result['capabilities'] : {},
    instructions: typeof result['instructions'] === 'string' ? result['instructions'] : undefined,
  });
}

/** Reads server identity from a `server/discover` result; undefined when it is not a modern discover result. */
export function identityFromDiscover(result: JsonObject): ServerIdentity | undefined {
  const versions = result['supportedVersions'];
  if (!Array.isArray(versions) || !versions.includes(MODERN_VERSION)) return undefined;
  const meta = isPlainObject(result['_meta']) ? result['_meta'] : {};
  const info = isPlainObject(meta['io.modelcontextprotocol/serverInfo'])
    ? meta['io.modelcontextprotocol/serverInfo']
    : {};
  return compactIdentity({
    name: typeof info['name'] === 'string' ? info['name'] : undefined,
    version: typeof info['version'] === 'string' ? info['version'] : undefined,
    protocolVersion: MODERN_VERSION,
    capabilities: isPlainObject(result['capabilities']) ? result['capabilities'] : {},
    instructions: typeof result['instructions'] === 'string' ? result['instructions'] : undefined,
  });
}

function compactIdentity(i: {
  name: string | undefined;
  version: string | undefined;
  protocolVersion: string;
  capabilities: JsonObject;
  instructions: string | undefined;
}): ServerIdentity {
  const out: ServerIdentity = { protocolVersion: i.protocolVersion, capabilities: i.capabilities };
  if (i.name !== undefined) out.name = i.name;
  if (i.version !== undefined) out.version = i.version;
  if (i.instructions !== undefined) out.instructions = i.instructions;
  return out;
}

/** True for a non-null, non-array object. */
export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Races a promise against a timer; the timer is unref'd and always cleared. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
        timer.unref();
      }),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Resolves after `ms` (unref'd: never keeps the process alive). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
