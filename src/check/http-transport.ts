import type { JsonObject } from '../jsonrpc/types.js';
import { brief, type CheckContext } from './context.js';
import type { HttpExchange, HttpTarget } from './http-target.js';
import { MODERN_VERSION, initializeParams, withEnvelope } from './target.js';

const FOREIGN = 'evil.example';

/** True when a URL host is a loopback address or name. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The opening exchange of the era: `initialize` (legacy, opens a session) or `server/discover` (modern). */
export async function openingExchange(
  http: HttpTarget,
  headers: Record<string, string | undefined>,
  extra: { anonymous?: boolean; url?: string } = {},
): Promise<HttpExchange> {
  const method = http.era === 'legacy' ? 'initialize' : 'server/discover';
  const body = http.envelope(method, http.era === 'legacy' ? initializeParams() : {});
  const base = http.era === 'legacy' ? { 'mcp-protocol-version': undefined } : http.eraHeaders(method, {});
  const ex = await http.post(body, { headers: { ...base, 'mcp-session-id': undefined, ...headers }, ...extra });
  await endSession(http, ex);
  return ex;
}

/** Deletes a legacy session a probe opened, so probes leave nothing behind on the server. */
export async function endSession(http: HttpTarget, ex: HttpExchange): Promise<void> {
  const sid = ex.headers['mcp-session-id'];
  if (sid === undefined || sid === http.sessionId) return;
  await http
    .post(undefined, {
      method: 'DELETE',
      headers: { 'mcp-session-id': sid, 'mcp-protocol-version': http.identity.protocolVersion },
      timeoutMs: 2000,
    })
    .catch(() => undefined);
}

function accepted(ex: HttpExchange): boolean {
  return ex.status >= 200 && ex.status < 300;
}

/** HTTP transport checks C1–C6. */
export async function runHttpChecks(ctx: CheckContext): Promise<void> {
  const http = ctx.http;
  const na = http === undefined ? 'HTTP targets only' : undefined;
  const url = http === undefined ? undefined : new URL(http.url);

  await ctx.check(
    'TG-CHK-C1',
    async () => {
      if (http === undefined) return;
      const ex = await openingExchange(http, { origin: `http://${FOREIGN}` });
      if (accepted(ex))
        ctx.fail('TG-CHK-C1', {
          evidence: `a request with Origin: http://${FOREIGN} was served (HTTP ${ex.status}); expected 403`,
        });
      else if (ex.status !== 403)
        ctx.fail('TG-CHK-C1', {
          severity: 'low',
          evidence: `foreign Origin answered HTTP ${ex.status} (the spec requires 403)`,
        });
    },
    na,
  );

  await ctx.check(
    'TG-CHK-C2',
    async () => {
      if (http === undefined) return;
      const ex = await openingExchange(http, { host: `${FOREIGN}${url?.port ? `:${url.port}` : ''}` });
      if (accepted(ex))
        ctx.fail('TG-CHK-C2', {
          evidence: `a request with Host: ${FOREIGN} was served (HTTP ${ex.status}) by a server on ${url?.host ?? ''}; a DNS-rebinding page could drive it`,
        });
    },
    na ?? (url !== undefined && !isLoopbackHost(url.hostname) ? 'the server is not on a loopback address' : undefined),
  );

  await ctx.check(
    'TG-CHK-C3',
    async () => {
      if (http === undefined) return;
      const sid = http.sessionId;
      if (sid === undefined) {
        ctx.skipCheck('TG-CHK-C3', 'the server issues no session id (stateless legacy server)');
        return;
      }
      if (!/^[\x21-\x7e]+$/.test(sid))
        ctx.fail('TG-CHK-C3', {
          subject: 'session id charset',
          evidence: `session id ${JSON.stringify(sid)} has characters outside visible ASCII`,
        });
      const noSession = await http.post(http.envelope('tools/list', {}), {
        headers: { 'mcp-protocol-version': http.identity.protocolVersion },
      });
      if (noSession.status !== 400)
        ctx.fail('TG-CHK-C3', {
          subject: 'missing session',
          severity: 'low',
          evidence: `a request without Mcp-Session-Id answered HTTP ${noSession.status} (expected 400)`,
        });
      const open = await http.post(http.envelope('initialize', initializeParams()), {
        headers: { 'mcp-protocol-version': undefined },
      });
      const second = open.headers['mcp-session-id'];
      if (second === undefined) return;
      const h = { 'mcp-session-id': second, 'mcp-protocol-version': http.identity.protocolVersion };
      const del = await http.post(undefined, { method: 'DELETE', headers: h });
      if (del.status === 405) return; // servers MAY refuse client-initiated termination
      if (!accepted(del)) {
        ctx.fail('TG-CHK-C3', {
          subject: 'DELETE',
          evidence: `DELETE of a session answered HTTP ${del.status} (expected 2xx or 405)`,
        });
        return;
      }
      const after = await http.post(http.envelope('tools/list', {}), { headers: h });
      if (after.status !== 404)
        ctx.fail('TG-CHK-C3', {
          subject: 'terminated session',
          evidence: `a request on a deleted session answered HTTP ${after.status} (expected 404, so clients know to re-initialize)`,
        });
    },
    na ?? (http?.era === 'modern' ? 'sessions do not exist in 2026-07-28' : undefined),
  );

  await ctx.check(
    'TG-CHK-C4',
    async () => {
      if (http === undefined) return;
      const bogus = '1900-01-01';
      let body: JsonObject;
      let headers: Record<string, string>;
      if (http.era === 'legacy') {
        body = http.envelope('tools/list', {});
        headers = { ...http.eraHeaders('tools/list', {}), 'mcp-protocol-version': bogus };
      } else {
        body = {
          jsonrpc: '2.0',
          id: `tg-version-${ctx.canary.token}`,
          method: 'tools/list',
          params: withEnvelope('modern', { _meta: { 'io.modelcontextprotocol/protocolVersion': bogus } }) ?? {},
        };
        headers = { ...http.eraHeaders('tools/list', {}), 'mcp-protocol-version': bogus };
      }
      const ex = await http.post(body, { headers });
      if (ex.status !== 400)
        ctx.fail('TG-CHK-C4', {
          evidence: `MCP-Protocol-Version: ${bogus} answered HTTP ${ex.status} (expected 400): ${brief(ex.body, 120)}`,
        });
    },
    na,
  );

  await ctx.check(
    'TG-CHK-C5',
    async () => {
      if (http === undefined) return;
      const listBody = http.envelope('tools/list', {});
      const m = await http.post(listBody, {
        headers: { ...http.eraHeaders('tools/list', {}), 'mcp-method': 'prompts/list' },
      });
      if (m.status !== 400)
        ctx.fail('TG-CHK-C5', {
          subject: 'Mcp-Method',
          evidence: `body tools/list with header Mcp-Method: prompts/list answered HTTP ${m.status} (expected 400 + -32020)`,
        });
      // The body names a tool that does not exist: a server that skips the check executes nothing.
      const params = { name: `toolgate-no-such-tool-${ctx.canary.token}`, arguments: {} };
      const callBody = http.envelope('tools/call', params);
      const n = await http.post(callBody, {
        headers: { ...http.eraHeaders('tools/call', params), 'mcp-name': 'some-other-tool' },
      });
      if (n.status !== 400)
        ctx.fail('TG-CHK-C5', {
          subject: 'Mcp-Name',
          evidence: `tools/call with a different Mcp-Name header answered HTTP ${n.status} (expected 400 + -32020)`,
        });
      const v = await http.post(http.envelope('tools/list', {}), {
        headers: { ...http.eraHeaders('tools/list', {}), 'mcp-protocol-version': '2025-11-25' },
      });
      if (v.status !== 400)
        ctx.fail('TG-CHK-C5', {
          subject: 'MCP-Protocol-Version',
          evidence: `MCP-Protocol-Version 2025-11-25 with _meta ${MODERN_VERSION} answered HTTP ${v.status} (expected 400 + -32020)`,
        });
    },
    na ?? (http?.era === 'legacy' ? 'header/body validation is 2026-07-28 only' : undefined),
  );

  await ctx.check(
    'TG-CHK-C6',
    async () => {
      if (http === undefined) return;
      const params = withEnvelope(http.era, { requestId: `tg-never-sent-${ctx.canary.token}`, reason: 'probe' }) ?? {};
      const ex = await http.post(
        { jsonrpc: '2.0', method: 'notifications/cancelled', params },
        { headers: http.eraHeaders('notifications/cancelled', {}) },
      );
      if (ex.status !== 202)
        ctx.fail('TG-CHK-C6', { evidence: `a notification answered HTTP ${ex.status} (expected 202)` });
      else if (ex.body.trim().length > 0)
        ctx.fail('TG-CHK-C6', {
          subject: 'body',
          evidence: `202 for a notification carried a body: ${brief(ex.body, 100)}`,
        });
    },
    na,
  );
}
