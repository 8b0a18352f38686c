import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SERVER_INFO_META_KEY,
  SUBSCRIPTION_ID_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';
import type { Era } from '../types.js';

export {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SERVER_INFO_META_KEY,
  SUBSCRIPTION_ID_META_KEY,
};

/** Legacy (initialize-based) protocol versions we speak, newest first (from the SDK). */
export const LEGACY_VERSIONS: readonly string[] = Object.freeze([...SUPPORTED_PROTOCOL_VERSIONS]);
/** Newest legacy version. */
export const LATEST_LEGACY_VERSION = LEGACY_VERSIONS[0] as string;
/** Modern (stateless) protocol versions we speak, newest first. */
export const MODERN_VERSIONS: readonly string[] = Object.freeze(['2026-07-28']);
/** Newest modern version. */
export const LATEST_MODERN_VERSION = MODERN_VERSIONS[0] as string;
/** A legacy client that sends no MCP-Protocol-Version header is assumed to speak this (spec 2025-06-18+). */
export const ASSUMED_LEGACY_VERSION = '2025-03-26';

const MODERN = new Set(MODERN_VERSIONS);
const LEGACY = new Set(LEGACY_VERSIONS);

/** The era of a protocol version we support, or `undefined`. */
export function eraOf(version: string | undefined): Era | undefined {
  if (version === undefined) return undefined;
  if (MODERN.has(version)) return 'modern';
  if (LEGACY.has(version)) return 'legacy';
  return undefined;
}

/** Every version we support, newest first. */
export const ALL_VERSIONS: readonly string[] = Object.freeze([...MODERN_VERSIONS, ...LEGACY_VERSIONS]);

/** Reserved `_meta` keys that belong to one hop and are never forwarded upstream. */
export function isReservedMetaKey(key: string): boolean {
  // io.modelcontextprotocol/* and *.mcp/* style prefixes are reserved by the spec; progressToken is per-hop too.
  return key === 'progressToken' || key.startsWith('io.modelcontextprotocol/');
}
