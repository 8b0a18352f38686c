import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { BearerConfig } from '../config/security.js';
import { GatewayError } from '../errors.js';
import type { Principal } from '../types.js';

/** Why a token was refused (reported in `WWW-Authenticate: error_description`, never with the token). */
export class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
}

/** Options of `createBearerVerifier`. */
export interface BearerVerifierOptions {
  config: BearerConfig;
  /** The gateway's canonical resource URL (default audience). */
  resource: string;
  /** Largest number of verified tokens kept (default 10 000). */
  maxCached?: number;
  /** Clock (tests). */
  now?: () => number;
  /** `fetch` used for discovery and introspection (tests). */
  fetch?: typeof fetch;
}

/** Verifies bearer tokens; resolves the principal or rejects with `TokenRejected` / `TG_AUTH_UNAVAILABLE`. */
export interface BearerVerifier {
  verify(token: string): Promise<Principal>;
  /** The principal of a token verified recently, without waiting; undefined when the cache cannot answer. */
  cached?(token: string): Principal | undefined;
}

const DEFAULT_MAX_CACHED = 10_000;
/** A verified token is re-verified at least this often even when it lives longer (key rotation, revocation by IdP). */
const MAX_CACHE_MS = 5 * 60_000;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

interface Cached {
  /** The whole token (the map key is only its tail). */
  token: string;
  principal: Principal;
  until: number;
}

/** Characters of a token's tail that key the cache (for a JWT: part of its signature). */
const CACHE_KEY_CHARS = 32;

/**
 * The cache key of a token: its tail. A JWT is ~1 KB, and a Map lookup hashes the whole (new, per-request)
 * string; its last characters are signature bytes, as distinct as the whole. A hit is checked against the
 * whole token, so two tokens sharing a tail only evict each other.
 */
function cacheKey(token: string): string {
  return token.length > 2 * CACHE_KEY_CHARS ? token.slice(-CACHE_KEY_CHARS) : token;
}

/**
 * The OAuth 2.1 resource-server check of a bearer token. JWTs are verified against the issuer's JWKS (fetched
 * lazily, cached, re-fetched on an unknown `kid` no more often than the cooldown, each fetch time-limited):
 * allowed asymmetric algorithms only, exact `iss`, `aud` naming this gateway (RFC 8707), `exp`/`nbf` with bounded
 * skew. Opaque tokens go to RFC 7662 introspection when configured. Verified tokens are cached until they expire
 * (at most 5 minutes), so a signature is checked once per token, not once per request.
 */
export function createBearerVerifier(options: BearerVerifierOptions): BearerVerifier {
  const cfg = options.config;
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  const audiences =
    cfg.audience === undefined ? [options.resource] : Array.isArray(cfg.audience) ? cfg.audience : [cfg.audience];
  const maxCached = options.maxCached ?? DEFAULT_MAX_CACHED;
  const cache = new Map<string, Cached>();
  let jwks: JWTVerifyGetKey | undefined;
  let jwksPending: Promise<JWTVerifyGetKey> | undefined;

  const keySet = async (): Promise<JWTVerifyGetKey> => {
    if (jwks !== undefined) return jwks;
    jwksPending ??= (async () => {
      const uri = cfg.jwksUri ?? (await discoverJwksUri(cfg.issuer, cfg.jwksTimeoutMs, doFetch));
      jwks = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: cfg.jwksTimeoutMs,
        cooldownDuration: cfg.jwksCooldownMs,
        cacheMaxAge: cfg.jwksCacheMaxAgeMs,
      });
      return jwks;
    })().finally(() => {
      jwksPending = undefined;
    });
    return jwksPending;
  };

  const remember = (
    token: string,
    principal: Principal,
    expSec: number | undefined,
    ttlMs = MAX_CACHE_MS,
  ): Principal => {
    const t = now();
    const until = Math.min(t + ttlMs, expSec === undefined ? Infinity : expSec * 1000 + cfg.clockSkewSec * 1000);
    if (cache.size >= maxCached) {
      // Drop the oldest entry (Map keeps insertion order): bounded memory under token spraying.
      const first = cache.keys().next();
      if (first.done !== true) cache.delete(first.value);
    }
    cache.set(cacheKey(token), { token, principal, until });
    return principal;
  };

  const verifyJwt = async (token: string): Promise<Principal> => {
    const keys = await keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: cfg.issuer,
        audience: audiences,
        algorithms: cfg.algorithms,
        clockTolerance: cfg.clockSkewSec,
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw classify(err);
    }
    return remember(token, toPrincipal(payload, cfg), payload.exp);
  };

  const introspect = async (token: string): Promise<Principal> => {
    const intro = cfg.introspection;
    if (intro === undefined)
      throw new TokenRejected('the token is not a JWT and no introspection endpoint is configured');
    let body: Record<string, unknown>;
    try {
      const res = await doFetch(intro.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(intro.clientId)}:${encodeURIComponent(intro.clientSecret)}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(intro.timeoutMs),
      });
      if (!res.ok) throw new Error(`introspection endpoint answered HTTP ${res.status}`);
      body = (await res.json()) as Record<string, unknown>;
    } catch (err) {
      throw new GatewayError('TG_AUTH_UNAVAILABLE', `token introspection failed: ${(err as Error).message}`, {
        cause: err,
        retryAfterMs: 1000,
      });
    }
    if (body['active'] !== true) throw new TokenRejected('the token is not active');
    if (body['iss'] !== undefined && body['iss'] !== cfg.issuer)
      throw new TokenRejected('the token was issued by another issuer');
    const aud = body['aud'];
    const auds = Array.isArray(aud) ? aud : aud === undefined ? [] : [aud];
    if (!auds.some((a) => audiences.includes(String(a))))
      throw new TokenRejected('the token was not issued for this resource');
    const exp = typeof body['exp'] === 'number' ? body['exp'] : undefined;
    if (exp !== undefined && exp * 1000 + cfg.clockSkewSec * 1000 <= now())
      throw new TokenRejected('the token has expired');
    if (typeof body['sub'] !== 'string' && typeof body['client_id'] !== 'string')
      throw new TokenRejected('the token names no subject');
    const claims = {
      ...body,
      sub: typeof body['sub'] === 'string' ? body['sub'] : `client:${String(body['client_id'])}`,
    };
    return remember(token, toPrincipal(claims as JWTPayload, cfg), exp, intro.cacheTtlMs);
  };

  const cached = (token: string): Principal | undefined => {
    const key = cacheKey(token);
    const hit = cache.get(key);
    if (hit === undefined || hit.token !== token) return undefined;
    if (hit.until > now()) return hit.principal;
    cache.delete(key);
    return undefined;
  };

  return {
    cached,
    async verify(token: string): Promise<Principal> {
      return cached(token) ?? (JWT_SHAPE.test(token) ? verifyJwt(token) : introspect(token));
    },
  };
}

/** Maps a jose failure onto "refused" (401) or "cannot check now" (503). */
function classify(err: unknown): Error {
  const code = (err as { code?: string }).code ?? '';
  if (
    code === 'ERR_JWKS_TIMEOUT' ||
    (err instanceof TypeError && /fetch/i.test(err.message)) ||
    code === 'ERR_JWKS_INVALID'
  ) {
    return new GatewayError(
      'TG_AUTH_UNAVAILABLE',
      `the issuer's keys could not be fetched: ${(err as Error).message}`,
      { cause: err, retryAfterMs: 1000 },
    );
  }
  const messages: Record<string, string> = {
    ERR_JWT_EXPIRED: 'the token has expired',
    ERR_JOSE_ALG_NOT_ALLOWED: 'the token is signed with an algorithm that is not allowed',
    ERR_JWKS_NO_MATCHING_KEY: 'the token is signed with an unknown key',
    ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'the token names an ambiguous key',
    ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'the token signature is invalid',
    ERR_JWS_INVALID: 'the token is malformed',
    ERR_JWT_INVALID: 'the token is malformed',
    ERR_JOSE_NOT_SUPPORTED: 'the token uses an unsupported algorithm',
  };
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    const claim = (err as { claim?: string }).claim ?? 'a claim';
    const what: Record<string, string> = {
      iss: 'the token was issued by another issuer',
      aud: 'the token was not issued for this resource',
      nbf: 'the token is not valid yet',
      sub: 'the token names no subject',
      exp: 'the token has no expiry',
    };
    return new TokenRejected(what[claim] ?? `the token's ${claim} claim is invalid`);
  }
  return new TokenRejected(messages[code] ?? 'the token is invalid');
}

async function discoverJwksUri(issuer: string, timeoutMs: number, doFetch: typeof fetch): Promise<string> {
  const base = issuer.replace(/\/$/, '');
  const u = new URL(issuer);
  const candidates = [
    `${base}/.well-known/openid-configuration`,
    `${u.origin}/.well-known/oauth-authorization-server${u.pathname === '/' ? '' : u.pathname}`,
  ];
  for (const url of candidates) {
    try {
      const res = await doFetch(url, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { accept: 'application/json' },
      });
      if (!res.ok) continue;
      const meta = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      // RFC 8414 §3.3: the metadata must name the same issuer (mix-up defence).
      if (meta.issuer === issuer && typeof meta.jwks_uri === 'string') return meta.jwks_uri;
    } catch {
      // try the next location
    }
  }
  throw new GatewayError('TG_AUTH_UNAVAILABLE', `cannot discover the JWKS of ${issuer}; set auth.bearer.jwksUri`, {
    retryAfterMs: 5000,
  });
}

function listClaim(v: unknown): string[] {
  if (typeof v === 'string') return v.split(' ').filter((s) => s !== '');
  if (Array.isArray(v)) return v.filter((s): s is string => typeof s === 'string');
  return [];
}

function toPrincipal(payload: JWTPayload, cfg: BearerConfig): Principal {
  const scopes = listClaim(payload[cfg.scopeClaim] ?? (cfg.scopeClaim === 'scope' ? payload['scp'] : undefined));
  const roles = listClaim(payload[cfg.rolesClaim]);
  const claims: Record<string, unknown> = { ...payload, roles };
  const tenant = cfg.tenantClaim === undefined ? undefined : payload[cfg.tenantClaim];
  const p: Principal = {
    subject: String(payload.sub),
    scopes: Object.freeze(scopes),
    claims: Object.freeze(claims),
    authMethod: 'bearer',
    ...(typeof tenant === 'string' ? { tenant } : {}),
  };
  return Object.freeze(p);
}
