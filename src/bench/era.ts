/**
 * The two MCP eras as bench's client speaks them: legacy (`initialize` handshake, sessions on HTTP) and modern
 * (2026-07-28: no handshake, a `_meta` envelope on every request, `Mcp-Method`/`Mcp-Name` headers on HTTP).
 */
import { VERSION } from '../version.js';
import type { JsonObject } from '../jsonrpc/types.js';

/** Protocol era of a target. */
export type Era = 'legacy' | 'modern';

/** The legacy revision bench asks for in `initialize`. */
export const LEGACY_PROTOCOL_VERSION = '2025-11-25';

/** The modern revision bench sends in `_meta` and `MCP-Protocol-Version`. */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';

/** Name and version bench reports as its `clientInfo`. */
export const CLIENT_INFO = { name: 'toolgate-bench', version: VERSION } as const;

/**
 * JSON-RPC codes that only a modern server sends; one of them in reply to the era probe means "modern, fix the
 * request", never "fall back to initialize" (versioning.mdx, Backward Compatibility).
 */
export const MODERN_ERROR_CODES: ReadonlySet<number> = new Set([-32020, -32021, -32022]);

/** The per-request `_meta` envelope of a modern request. Built once per run and shared: it is never mutated. */
export function modernMeta(protocolVersion: string): JsonObject {
  return Object.freeze({
    'io.modelcontextprotocol/protocolVersion': protocolVersion,
    'io.modelcontextprotocol/clientCapabilities': Object.freeze({}),
    'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
  });
}

/** Params of the legacy `initialize` request. */
export function initializeParams(protocolVersion = LEGACY_PROTOCOL_VERSION): JsonObject {
  return { protocolVersion, capabilities: {}, clientInfo: { ...CLIENT_INFO } };
}

/**
 * Reads the modern version to use from an `UnsupportedProtocolVersionError` (`data.supported`), preferring the
 * newest modern one; undefined when the error names none.
 */
export function versionFromUnsupported(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const supported = (data as { supported?: unknown }).supported;
  if (!Array.isArray(supported)) return undefined;
  const modern = supported.filter((v): v is string => typeof v === 'string' && v >= MODERN_PROTOCOL_VERSION).sort();
  return modern.at(-1);
}
