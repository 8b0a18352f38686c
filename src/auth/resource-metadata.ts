import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthConfig } from '../config/security.js';
import { sendJson } from '../edge/http-server.js';

/** Path of the RFC 9728 Protected Resource Metadata document. */
export const PRM_PATH = '/.well-known/oauth-protected-resource';

/** The RFC 9728 document and where it is served. */
export interface ResourceMetadata {
  /** Routes serving the document: the root form and the path-suffixed form for the MCP endpoint. */
  readonly paths: readonly string[];
  /** Absolute URL of the document (advertised in `WWW-Authenticate: resource_metadata`). */
  readonly url: string;
  readonly document: Readonly<Record<string, unknown>>;
  /** Serves the document. */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * Builds the Protected Resource Metadata (RFC 9728) of the gateway: `resource` (the canonical MCP endpoint URL,
 * RFC 8707), `authorization_servers`, `scopes_supported`, `bearer_methods_supported: ["header"]` (never the query
 * string). Served at `/.well-known/oauth-protected-resource` and at the path-inserted form for the endpoint path.
 */
export function createResourceMetadata(
  auth: AuthConfig,
  resource: string,
  ruleScopes: readonly string[],
): ResourceMetadata {
  const url = new URL(resource);
  const suffix = pathSuffix(url);
  const servers = auth.authorizationServers ?? (auth.bearer !== undefined ? [auth.bearer.issuer] : []);
  const scopes = auth.scopesSupported ?? [...new Set(ruleScopes)].sort();
  const document = Object.freeze({
    resource,
    authorization_servers: servers,
    ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
    bearer_methods_supported: ['header'],
    resource_name: 'toolgate MCP gateway',
  });
  const body = document;
  return {
    paths: suffix === '' ? [PRM_PATH] : [PRM_PATH, `${PRM_PATH}${suffix}`],
    url: metadataUrlOf(resource),
    document,
    handle(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
        return;
      }
      // Public metadata: any origin may read it (browser-based MCP clients discover auth this way).
      sendJson(res, 200, body, { 'access-control-allow-origin': '*', 'cache-control': 'public, max-age=300' });
    },
  };
}

function pathSuffix(url: URL): string {
  return url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
}

/** The RFC 9728 document URL of a resource (path-inserted form, RFC 9728 §3.1). */
export function metadataUrlOf(resource: string): string {
  const url = new URL(resource);
  return `${url.origin}${PRM_PATH}${pathSuffix(url)}`;
}

/** Quotes a value for an RFC 6750 challenge parameter. */
function quote(v: string): string {
  return `"${v.replace(/["\\]/g, '')}"`;
}

/** `WWW-Authenticate` value of a 401/403: `Bearer` with the given parameters (empty ones omitted). */
export function bearerChallenge(params: Record<string, string | undefined>): string {
  const parts = Object.entries(params)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${k}=${quote(v)}`);
  return parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}`;
}
