import { SignJWT, generateKeyPair, type CryptoKey } from 'jose';
import { brief, type CheckContext } from './context.js';
import type { HttpExchange, HttpTarget } from './http-target.js';
import { isLoopbackHost, openingExchange } from './http-transport.js';
import { isPlainObject } from './target.js';

/** The `resource_metadata` parameter of a Bearer challenge, if any. */
export function resourceMetadataUrl(challenge: string | undefined): string | undefined {
  if (challenge === undefined) return undefined;
  const m =
    /resource_metadata\s*=\s*"([^"]+)"/i.exec(challenge) ?? /resource_metadata\s*=\s*([^\s,]+)/i.exec(challenge);
  return m?.[1];
}

/** Compares two resource identifiers the RFC 8707 way: case-insensitive scheme and host, no trailing slash. */
export function sameResource(a: string, b: string): boolean {
  const norm = (s: string): string => {
    try {
      const u = new URL(s);
      return `${u.protocol}//${u.host}${u.pathname.replace(/\/$/, '')}`.toLowerCase();
    } catch {
      return s;
    }
  };
  return norm(a) === norm(b);
}

/** Tokens the checker mints with its own key: none of them may be accepted. */
async function hostileTokens(resource: string): Promise<[string, string][]> {
  const { privateKey } = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>, key: CryptoKey): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'toolgate-check' })
      .setIssuer('https://toolgate-check.invalid')
      .setSubject('toolgate-check')
      .sign(key);
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'toolgate-check', aud: resource, exp: now + 600 })).toString('base64url')}.`;
  return [
    ['a garbage token', 'toolgate-check-garbage-token'],
    [
      'an expired token for this resource (signed by an unknown key)',
      await sign({ aud: resource, iat: now - 7200, exp: now - 3600 }, privateKey),
    ],
    [
      'a token for another audience (signed by an unknown key)',
      await sign({ aud: 'https://wrong-audience.invalid/mcp', iat: now, exp: now + 600 }, privateKey),
    ],
    ['an unsigned alg=none token', unsigned],
  ];
}

function accepted(ex: HttpExchange): boolean {
  return ex.status >= 200 && ex.status < 300;
}

async function fetchMetadata(
  http: HttpTarget,
  challengeUrl: string | undefined,
): Promise<{ url: string; ex: HttpExchange } | undefined> {
  const target = new URL(http.url);
  const candidates: string[] = [];
  // Only the target's own origin is fetched: a challenge pointing elsewhere is reported, never followed.
  if (challengeUrl !== undefined && new URL(challengeUrl, target).origin === target.origin)
    candidates.push(new URL(challengeUrl, target).href);
  const path = target.pathname.replace(/\/$/, '');
  candidates.push(
    `${target.origin}/.well-known/oauth-protected-resource${path}`,
    `${target.origin}/.well-known/oauth-protected-resource`,
  );
  for (const url of [...new Set(candidates)]) {
    const ex = await http
      .post(undefined, { method: 'GET', url, anonymous: true, headers: { accept: 'application/json' } })
      .catch(() => undefined);
    if (ex !== undefined && ex.status === 200) return { url, ex };
  }
  return undefined;
}

/** Auth checks D1–D5 (HTTP only). */
export async function runAuthChecks(ctx: CheckContext): Promise<void> {
  const http = ctx.http;
  if (http === undefined) {
    for (const id of ['TG-CHK-D1', 'TG-CHK-D2', 'TG-CHK-D3', 'TG-CHK-D4', 'TG-CHK-D5'])
      await ctx.check(id, () => undefined, 'HTTP targets only');
    return;
  }
  const url = new URL(http.url);
  const anon = await openingExchange(http, {}, { anonymous: true });
  const requiresAuth = anon.status === 401 || anon.status === 403;
  const challenge = anon.headers['www-authenticate'];
  const loopback = isLoopbackHost(url.hostname);
  ctx.measurements['authentication'] = requiresAuth
    ? `required (HTTP ${anon.status} without credentials)`
    : `not required (HTTP ${anon.status} without credentials)`;

  await ctx.check(
    'TG-CHK-D1',
    async () => {
      if (!requiresAuth) {
        ctx.fail('TG-CHK-D1', {
          subject: 'not enforced',
          evidence: `credentials were given, but a request without them was served (HTTP ${anon.status})`,
        });
        return;
      }
      if (anon.status === 403)
        ctx.fail('TG-CHK-D1', {
          subject: 'status',
          severity: 'low',
          evidence: 'a request without credentials answered 403; the spec requires 401 for missing credentials',
        });
      const meta = resourceMetadataUrl(challenge);
      if (challenge === undefined || !/\bbearer\b/i.test(challenge)) {
        ctx.fail('TG-CHK-D1', {
          subject: 'challenge',
          evidence: `HTTP ${anon.status} without a Bearer WWW-Authenticate challenge (got ${brief(challenge ?? 'none')})`,
        });
      } else if (meta === undefined && (await fetchMetadata(http, undefined)) === undefined) {
        ctx.fail('TG-CHK-D1', {
          subject: 'resource_metadata',
          evidence: `the challenge has no resource_metadata and no /.well-known/oauth-protected-resource is served: ${brief(challenge)}`,
        });
      }
    },
    requiresAuth || ctx.options.credentials ? undefined : 'the server requires no credentials',
  );

  await ctx.check(
    'TG-CHK-D2',
    async () => {
      const found = await fetchMetadata(http, resourceMetadataUrl(challenge));
      if (found === undefined) {
        ctx.fail('TG-CHK-D2', {
          evidence: 'no protected-resource metadata document is served (RFC 9728 well-known or resource_metadata)',
        });
        return;
      }
      let doc: unknown;
      try {
        doc = JSON.parse(found.ex.body);
      } catch {
        ctx.fail('TG-CHK-D2', { evidence: `${found.url} is not JSON: ${brief(found.ex.body, 100)}` });
        return;
      }
      if (!isPlainObject(doc)) {
        ctx.fail('TG-CHK-D2', { evidence: `${found.url} is not a JSON object` });
        return;
      }
      const resource = doc['resource'];
      if (typeof resource !== 'string')
        ctx.fail('TG-CHK-D2', { subject: 'resource', evidence: `${found.url} has no \`resource\`` });
      else if (!sameResource(resource, http.url))
        ctx.fail('TG-CHK-D2', {
          subject: 'resource',
          evidence: `${found.url} names resource ${resource}, not this server (${http.url})`,
        });
      const servers = doc['authorization_servers'];
      if (!Array.isArray(servers) || servers.length === 0)
        ctx.fail('TG-CHK-D2', {
          subject: 'authorization_servers',
          evidence: `${found.url} lists no authorization_servers`,
        });
    },
    requiresAuth ? undefined : 'the server requires no credentials',
  );

  await ctx.check(
    'TG-CHK-D3',
    async () => {
      for (const [what, token] of await hostileTokens(http.url)) {
        const ex = await openingExchange(http, { authorization: `Bearer ${token}` }, { anonymous: true });
        if (accepted(ex))
          ctx.fail('TG-CHK-D3', { subject: what, evidence: `${what} was accepted (HTTP ${ex.status})` });
        else if (ex.status !== 401)
          ctx.fail('TG-CHK-D3', {
            subject: `${what} status`,
            severity: 'low',
            evidence: `${what} answered HTTP ${ex.status} (expected 401)`,
          });
      }
    },
    requiresAuth ? undefined : 'the server requires no credentials',
  );

  const bearer = /^bearer\s+(.+)$/i.exec(http.options.headers['authorization'] ?? '')?.[1];
  await ctx.check(
    'TG-CHK-D4',
    async () => {
      if (bearer === undefined) return;
      const q = new URL(http.url);
      q.searchParams.set('access_token', bearer);
      const ex = await openingExchange(http, {}, { anonymous: true, url: q.href });
      if (accepted(ex))
        ctx.fail('TG-CHK-D4', { evidence: `the token was accepted as ?access_token= in the URL (HTTP ${ex.status})` });
    },
    !requiresAuth
      ? 'the server requires no credentials'
      : bearer === undefined
        ? 'needs a bearer token (--bearer)'
        : undefined,
  );

  await ctx.check(
    'TG-CHK-D5',
    () => {
      if (!requiresAuth && accepted(anon)) {
        ctx.fail('TG-CHK-D5', {
          evidence: `${url.host} is not a loopback address and served an unauthenticated ${http.era === 'legacy' ? 'initialize' : 'server/discover'} (HTTP ${anon.status})`,
        });
      }
    },
    loopback ? 'the server is on a loopback address' : undefined,
  );
}
