import { GatewayError } from '../errors.js';
import { isObject, type JsonObject } from '../jsonrpc/types.js';
import { LOG_LEVELS, type LogLevel } from './dispatcher.js';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  MODERN_VERSIONS,
  PROTOCOL_VERSION_META_KEY,
} from './versions.js';

/** The per-request `_meta` envelope of a 2026-07-28 request, validated. */
export interface ModernEnvelope {
  protocolVersion: string;
  clientCapabilities: JsonObject;
  clientInfo?: JsonObject;
  logLevel?: LogLevel;
}

/** The protocol version a request's `_meta` names, if any (marks a modern request). */
export function envelopeVersion(params: JsonObject | undefined): unknown {
  const meta = params?.['_meta'];
  return isObject(meta) ? meta[PROTOCOL_VERSION_META_KEY] : undefined;
}

/**
 * Validates the envelope of a modern request (spec 2026-07-28 `_meta`): a supported version (else -32022 with
 * the supported list) and client capabilities (else -32602).
 */
export function readModernEnvelope(params: JsonObject | undefined): ModernEnvelope {
  const meta = isObject(params?.['_meta']) ? (params['_meta'] as JsonObject) : undefined;
  const version = meta?.[PROTOCOL_VERSION_META_KEY];
  if (typeof version !== 'string') {
    throw new GatewayError('TG_MISSING_META', `Missing _meta["${PROTOCOL_VERSION_META_KEY}"]`, {
      data: { missing: PROTOCOL_VERSION_META_KEY },
    });
  }
  if (!MODERN_VERSIONS.includes(version)) {
    throw new GatewayError('TG_UNSUPPORTED_VERSION', `Unsupported protocol version: ${version}`, {
      data: { supported: [...MODERN_VERSIONS], requested: version },
    });
  }
  const caps = meta?.[CLIENT_CAPABILITIES_META_KEY];
  if (!isObject(caps)) {
    throw new GatewayError('TG_MISSING_META', `Missing _meta["${CLIENT_CAPABILITIES_META_KEY}"]`, {
      data: { missing: CLIENT_CAPABILITIES_META_KEY },
    });
  }
  const env: ModernEnvelope = { protocolVersion: version, clientCapabilities: caps };
  const info = meta?.[CLIENT_INFO_META_KEY];
  if (isObject(info)) env.clientInfo = info;
  const level = meta?.[LOG_LEVEL_META_KEY];
  if (level !== undefined) {
    if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level)) {
      throw new GatewayError(
        'TG_INVALID_PARAMS',
        `Invalid log level ${JSON.stringify(level)}; one of ${LOG_LEVELS.join(', ')}`,
      );
    }
    env.logLevel = level as LogLevel;
  }
  return env;
}

/** Decodes an `Mcp-Method`/`Mcp-Name` header value (`=?base64?…?=` sentinel for non-header-safe values). */
export function decodeHeaderValue(value: string): string {
  const m = /^=\?base64\?([A-Za-z0-9+/=_-]*)\?=$/.exec(value);
  return m ? Buffer.from(m[1] as string, 'base64').toString('utf8') : value;
}

/** The body field `Mcp-Name` must mirror, for methods that have one. */
export function nameOfRequest(method: string, params: JsonObject | undefined): string | undefined {
  if (method === 'tools/call' || method === 'prompts/get')
    return typeof params?.['name'] === 'string' ? params['name'] : undefined;
  if (method === 'resources/read') return typeof params?.['uri'] === 'string' ? params['uri'] : undefined;
  return undefined;
}
