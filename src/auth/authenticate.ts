import type { IncomingMessage } from 'node:http';
import type { AuthConfig } from '../config/security.js';
import type { Authenticate } from '../edge/mcp-http.js';
import { GatewayError, isGatewayError } from '../errors.js';
import { ANONYMOUS, type Principal } from '../types.js';
import { ApiKeyService } from './api-keys.js';
import { TokenRejected, type BearerVerifier } from './bearer.js';
import { bearerChallenge } from './resource-metadata.js';

/** Query parameters that would carry a credential: refused outright (tokens in URLs end up in logs). */
const QUERY_CREDENTIALS = ['access_token', 'token', 'api_key', 'apikey', 'key'];

/** Options of `createAuthenticator`. */
export interface AuthenticatorOptions {
  config: AuthConfig;
  /** Effective anonymous mode (the config default depends on whether any credential kind is configured). */
  anonymous: 'loopback' | 'any' | 'off';
  bearer?: BearerVerifier;
  apiKeys?: ApiKeyService;
  /** RFC 9728 document URL, advertised in every challenge. */
  metadataUrl?: string;
  /** Scopes suggested in the 401 challenge. */
  scopes?: readonly string[];
  /** Counts outcomes (metrics hook). */
  onResult?: (method: Principal['authMethod'] | 'rejected', reason?: string) => void;
}

/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1: scheme case-insensitive, one token, no
 * inner whitespace), or undefined when the header has another shape.
 */
export function bearerToken(authz: string): string | undefined {
  if (authz.length < 8 || authz.slice(0, 6).toLowerCase() !== 'bearer') return undefined;
  const blank = (c: number): boolean => c === 32 || c === 9;
  let start = 6;
  while (blank(authz.charCodeAt(start))) start++;
  if (start === 6) return undefined;
  let end = authz.length;
  while (end > start && blank(authz.charCodeAt(end - 1))) end--;
  if (end === start) return undefined;
  const token = authz.slice(start, end);
  return token.includes(' ') || token.includes('\t') ? undefined : token;
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || a.startsWith('127.');
}

/**
 * The HTTP face's `Authenticate`: one credential per request, from the `Authorization: Bearer` header (a JWT or
 * opaque token, or a `tgk_` API key) or the API-key header; never from the query string. No credential means the
 * anonymous principal where config allows it (by default only on loopback, and only when no credential kind is
 * configured). Failures are 401 with `WWW-Authenticate: Bearer resource_metadata=…` (RFC 9728).
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticate {
  const { bearer, apiKeys, metadataUrl, anonymous } = options;
  const keyHeader = (options.config.apiKeys?.header ?? 'x-api-key').toLowerCase();
  const scope = options.scopes !== undefined && options.scopes.length > 0 ? options.scopes.join(' ') : undefined;
  const onResult = options.onResult;

  const reject = (description: string, error?: 'invalid_token' | 'invalid_request'): GatewayError => {
    onResult?.('rejected', description);
    const challenge = bearerChallenge({
      ...(error === undefined ? {} : { error, error_description: description }),
      resource_metadata: metadataUrl,
      ...(error === undefined ? { scope } : {}),
    });
    return new GatewayError('TG_UNAUTHENTICATED', `Unauthorized: ${description}`, {
      headers: { 'www-authenticate': challenge },
    });
  };

  const viaKey = (key: string): Principal | Promise<Principal> => {
    if (apiKeys === undefined) throw reject('API keys are not enabled on this gateway', 'invalid_token');
    const known = apiKeys.cached(key);
    if (known === undefined) return apiKeys.verify(key).then((p) => keyOutcome(p));
    return keyOutcome(known ?? undefined);
  };
  const keyOutcome = (p: Principal | undefined): Principal => {
    if (p === undefined) throw reject('the API key is unknown, revoked or expired', 'invalid_token');
    onResult?.('api-key');
    return p;
  };

  const viaBearer = async (verifier: BearerVerifier, token: string): Promise<Principal> => {
    try {
      const p = await verifier.verify(token);
      onResult?.('bearer');
      return p;
    } catch (err) {
      if (err instanceof TokenRejected) throw reject(err.message, 'invalid_token');
      if (isGatewayError(err)) throw err;
      throw reject('the token could not be verified', 'invalid_token');
    }
  };

  // Not an async function: a credential the caches know is answered without a promise (this runs per request).
  return function authenticate(req: IncomingMessage): Principal | Promise<Principal> {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (q !== -1) {
      const params = new URLSearchParams(url.slice(q + 1));
      if (QUERY_CREDENTIALS.some((k) => params.has(k))) {
        throw reject('credentials are not accepted in the query string; send Authorization: Bearer', 'invalid_request');
      }
    }
    const authz = req.headers.authorization;
    if (authz !== undefined) {
      const token = bearerToken(authz);
      if (token === undefined) throw reject('the Authorization header must be "Bearer <token>"', 'invalid_request');
      if (ApiKeyService.looksLikeKey(token)) return viaKey(token);
      if (bearer === undefined) throw reject('bearer tokens are not accepted by this gateway', 'invalid_token');
      const known = bearer.cached?.(token);
      if (known !== undefined) {
        onResult?.('bearer');
        return known;
      }
      return viaBearer(bearer, token);
    }
    const headerKey = req.headers[keyHeader];
    if (typeof headerKey === 'string' && headerKey !== '') return viaKey(headerKey);
    if (anonymous === 'any' || (anonymous === 'loopback' && isLoopback(req.socket.remoteAddress))) {
      onResult?.('anonymous');
      return ANONYMOUS;
    }
    throw reject('this gateway needs a credential');
  };
}
