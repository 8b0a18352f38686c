import { GatewayError } from '../errors.js';
import { isObject, type JsonObject } from '../jsonrpc/types.js';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LATEST_LEGACY_VERSION,
  LEGACY_VERSIONS,
  MODERN_VERSIONS,
  PROTOCOL_VERSION_META_KEY,
} from '../protocol/versions.js';
import type { UpstreamInfo } from '../types.js';

/** How toolgate presents itself to upstreams. */
export interface ClientIdentity {
  name: string;
  version: string;
  /** Client capabilities declared upstream: toolgate relays sampling and elicitation to its own clients. */
  capabilities: JsonObject;
}

/** The minimal connection a handshake needs. */
export interface HandshakeConnection {
  request(method: string, params: JsonObject | undefined, signal: AbortSignal): Promise<JsonObject>;
  notify(method: string, params?: JsonObject): void;
}

/** Options of `handshake`. */
export interface HandshakeOptions {
  era: 'auto' | 'legacy' | 'modern';
  client: ClientIdentity;
  signal: AbortSignal;
  /** How long the `server/discover` probe may take in `auto` mode before falling back to legacy. */
  probeTimeoutMs?: number;
}

const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

/** The `_meta` envelope every modern request carries. */
export function modernEnvelope(version: string, client: ClientIdentity): JsonObject {
  return {
    [PROTOCOL_VERSION_META_KEY]: version,
    [CLIENT_CAPABILITIES_META_KEY]: client.capabilities,
    [CLIENT_INFO_META_KEY]: { name: client.name, version: client.version },
  };
}

/**
 * Negotiates the era with a stdio upstream. `auto` probes `server/discover` first (spec 2026-07-28: dual-era
 * clients SHOULD); any failure or silence — never one specific error code — falls back to `initialize`.
 */
export async function handshake(c: HandshakeConnection, options: HandshakeOptions): Promise<UpstreamInfo> {
  if (options.era !== 'legacy') {
    const probeSignal =
      options.era === 'auto'
        ? AbortSignal.any([options.signal, AbortSignal.timeout(options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS)])
        : options.signal;
    try {
      const version = MODERN_VERSIONS[0] as string;
      const result = await c.request(
        'server/discover',
        { _meta: modernEnvelope(version, options.client) },
        probeSignal,
      );
      const info = modernInfo(result);
      if (info !== undefined) return info;
      if (options.era === 'modern') {
        throw new GatewayError(
          'TG_UPSTREAM_PROTOCOL',
          'server/discover did not offer a supported modern protocol version',
        );
      }
    } catch (err) {
      if (options.era === 'modern') throw err;
      if (options.signal.aborted) throw err;
      // Anything else (error response, probe timeout, garbage) means: speak legacy.
    }
  }
  const result = await c.request(
    'initialize',
    {
      protocolVersion: LATEST_LEGACY_VERSION,
      capabilities: options.client.capabilities,
      clientInfo: { name: options.client.name, version: options.client.version },
    },
    options.signal,
  );
  const version = result['protocolVersion'];
  if (typeof version !== 'string' || !LEGACY_VERSIONS.includes(version)) {
    throw new GatewayError(
      'TG_UPSTREAM_PROTOCOL',
      `initialize answered with unsupported protocol version ${JSON.stringify(version)}`,
    );
  }
  c.notify('notifications/initialized');
  const info: UpstreamInfo = {
    era: 'legacy',
    protocolVersion: version,
    capabilities: isObject(result['capabilities']) ? result['capabilities'] : {},
  };
  if (isObject(result['serverInfo'])) info.serverInfo = result['serverInfo'];
  if (typeof result['instructions'] === 'string') info.instructions = result['instructions'];
  return info;
}

function modernInfo(result: JsonObject): UpstreamInfo | undefined {
  const versions = result['supportedVersions'];
  if (!Array.isArray(versions)) return undefined;
  const version = MODERN_VERSIONS.find((v) => versions.includes(v));
  if (version === undefined) return undefined;
  const info: UpstreamInfo = {
    era: 'modern',
    protocolVersion: version,
    capabilities: isObject(result['capabilities']) ? result['capabilities'] : {},
  };
  const meta = result['_meta'];
  if (isObject(meta) && isObject(meta['io.modelcontextprotocol/serverInfo']))
    info.serverInfo = meta['io.modelcontextprotocol/serverInfo'];
  if (typeof result['instructions'] === 'string') info.instructions = result['instructions'];
  return info;
}
