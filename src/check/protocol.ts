import { RemoteError } from '../jsonrpc/peer.js';
import type { JsonObject, JsonRpcMessage } from '../jsonrpc/types.js';
import { brief, succeeded, type CheckContext, type Tool } from './context.js';
import { compileSchema } from './schema.js';
import { isResponseTo } from './stdio-target.js';
import { isPlainObject, sleep, withEnvelope } from './target.js';

/** What listing one collection (tools, prompts, resources…) showed. */
export interface ListObservation {
  method: string;
  pages: number;
  items: number;
  duplicates: string[];
  error?: string;
  endless?: boolean;
  missingResultType?: boolean;
}

const MAX_PAGES = 100;

const LISTS = [
  { capability: 'tools', method: 'tools/list', key: 'tools', idField: 'name' },
  { capability: 'prompts', method: 'prompts/list', key: 'prompts', idField: 'name' },
  { capability: 'resources', method: 'resources/list', key: 'resources', idField: 'uri' },
  { capability: 'resources', method: 'resources/templates/list', key: 'resourceTemplates', idField: 'uriTemplate' },
] as const;

/** Lists every advertised collection to the end (bounded), filling the context's inventory. */
export async function collectInventory(ctx: CheckContext): Promise<Map<string, ListObservation>> {
  const observations = new Map<string, ListObservation>();
  const caps = ctx.target.identity.capabilities;
  for (const l of LISTS) {
    if (!isPlainObject(caps[l.capability])) continue;
    const obs: ListObservation = { method: l.method, pages: 0, items: 0, duplicates: [] };
    const seen = new Set<string>();
    const items: JsonObject[] = [];
    let cursor: string | undefined;
    try {
      do {
        const result = await ctx.target.request(l.method, cursor === undefined ? {} : { cursor });
        obs.pages++;
        if (ctx.target.era === 'modern' && result['resultType'] === undefined) obs.missingResultType = true;
        const page = Array.isArray(result[l.key]) ? (result[l.key] as unknown[]) : [];
        for (const item of page) {
          if (!isPlainObject(item)) continue;
          const id = String(item[l.idField]);
          if (seen.has(id)) obs.duplicates.push(id);
          else items.push(item);
          seen.add(id);
        }
        const next = result['nextCursor'];
        cursor = typeof next === 'string' ? next : undefined;
        if (obs.pages >= MAX_PAGES && cursor !== undefined) {
          obs.endless = true;
          break;
        }
      } while (cursor !== undefined);
    } catch (err) {
      obs.error = describeError(err);
    }
    obs.items = items.length;
    observations.set(l.method, obs);
    if (l.key === 'tools') ctx.tools = items.filter((t): t is Tool => typeof t['name'] === 'string');
    if (l.key === 'prompts') ctx.prompts = items;
    if (l.key === 'resources') ctx.resources = items;
  }
  ctx.measurements['tools'] = ctx.tools.length;
  return observations;
}

/** A short description of a failed request. */
export function describeError(err: unknown): string {
  if (err instanceof RemoteError) return `JSON-RPC error ${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The JSON-RPC code of a failed request, when it was a JSON-RPC error. */
async function errorCodeOf(p: Promise<unknown>): Promise<{ code?: number; text: string; ok: boolean }> {
  try {
    const r = await p;
    return { ok: true, text: brief(r) };
  } catch (err) {
    if (err instanceof RemoteError) return { ok: false, code: err.code, text: brief(`${err.code} ${err.message}`) };
    return { ok: false, text: describeError(err) };
  }
}

/** Protocol checks that need only the inventory (A1–A8). */
export async function runProtocolChecks(ctx: CheckContext, lists: Map<string, ListObservation>): Promise<void> {
  const t = ctx.target;
  const id = t.identity;

  await ctx.check('TG-CHK-A1', () => {
    if (id.name === undefined || id.name.length === 0) {
      ctx.fail('TG-CHK-A1', {
        subject: 'serverInfo.name',
        evidence: `${t.era === 'modern' ? 'server/discover' : 'initialize'} result has no serverInfo name`,
      });
    }
    if (id.version === undefined || id.version.length === 0) {
      ctx.fail('TG-CHK-A1', {
        subject: 'serverInfo.version',
        severity: 'low',
        evidence: 'serverInfo has no version (clients cannot pin or report it)',
      });
    }
  });

  await ctx.check('TG-CHK-A2', async () => {
    for (const obs of lists.values()) {
      if (obs.error !== undefined)
        ctx.fail('TG-CHK-A2', {
          subject: obs.method,
          evidence: `capability advertised, but ${obs.method} failed: ${obs.error}`,
        });
      if (obs.missingResultType === true) {
        ctx.fail('TG-CHK-A2', {
          subject: `${obs.method} resultType`,
          severity: 'medium',
          evidence: `${obs.method} result lacks the required 2026-07-28 \`resultType\``,
        });
      }
    }
    if (t.era === 'legacy' && isPlainObject(id.capabilities['logging'])) {
      const r = await errorCodeOf(t.request('logging/setLevel', { level: 'info' }));
      if (!r.ok)
        ctx.fail('TG-CHK-A2', {
          subject: 'logging/setLevel',
          evidence: `logging advertised, but logging/setLevel failed: ${r.text}`,
        });
    }
  });

  await ctx.check('TG-CHK-A3', async () => {
    const probes: [string, string][] = [['toolgate/no-such-method', 'an unknown method']];
    const caps = id.capabilities;
    if (!isPlainObject(caps['prompts'])) probes.push(['prompts/list', 'prompts/list without the prompts capability']);
    if (!isPlainObject(caps['resources']))
      probes.push(['resources/list', 'resources/list without the resources capability']);
    if (!isPlainObject(caps['tools'])) probes.push(['tools/list', 'tools/list without the tools capability']);
    for (const [method, what] of probes) {
      const r = await errorCodeOf(t.request(method, {}));
      if (r.code !== -32601) {
        ctx.fail('TG-CHK-A3', {
          subject: method,
          evidence: `${what} answered ${r.ok ? `with a result ${r.text}` : r.text}; expected -32601`,
        });
      }
    }
  });

  await ctx.check('TG-CHK-A4', async () => {
    for (const obs of lists.values()) {
      if (obs.duplicates.length > 0) {
        ctx.fail('TG-CHK-A4', {
          subject: `${obs.method} duplicates`,
          evidence: `${obs.method} returned duplicates across ${obs.pages} page(s): ${brief(obs.duplicates.slice(0, 5))}`,
        });
      }
      if (obs.endless === true)
        ctx.fail('TG-CHK-A4', {
          subject: `${obs.method} endless`,
          evidence: `${obs.method} still returned nextCursor after ${MAX_PAGES} pages`,
        });
    }
    const method = isPlainObject(id.capabilities['tools'])
      ? 'tools/list'
      : isPlainObject(id.capabilities['prompts'])
        ? 'prompts/list'
        : undefined;
    if (method !== undefined) {
      const r = await errorCodeOf(t.request(method, { cursor: 'toolgate-invalid-cursor' }));
      if (r.ok) {
        ctx.fail('TG-CHK-A4', {
          subject: `${method} invalid cursor`,
          severity: 'low',
          evidence: `${method} with an unknown cursor answered with a result (expected -32602): ${r.text}`,
        });
      }
    }
  });

  await ctx.check('TG-CHK-A5', async () => {
    const stdio = ctx.stdio;
    if (stdio !== undefined) {
      const since = stdio.unsolicited.length;
      stdio.sendRaw('{"jsonrpc": "2.0", "id": "tg-malformed", "method": "tools/list", ');
      const reply = await stdio.expectUnsolicited(
        (m) => isPlainObject(m) && 'error' in m && (m as { id: unknown }).id === null,
        2000,
        since,
      );
      if (reply === undefined)
        ctx.fail('TG-CHK-A5', {
          evidence: 'a malformed JSON line got no answer within 2 s (expected an error -32700 with id null)',
        });
      else if ('error' in reply && reply.error.code !== -32700)
        ctx.fail('TG-CHK-A5', { evidence: `malformed JSON answered with ${reply.error.code} (expected -32700)` });
    } else if (ctx.http !== undefined) {
      const http = ctx.http;
      const ex = await http.post('{"jsonrpc": "2.0", "id": 1, "method": ', {
        headers: http.eraHeaders('tools/list', {}),
      });
      const err = ex.messages.find((m) => 'error' in m);
      if (ex.status < 400 || ex.status >= 500)
        ctx.fail('TG-CHK-A5', {
          evidence: `malformed JSON body answered HTTP ${ex.status} (expected 400): ${brief(ex.body)}`,
        });
      else if (err !== undefined && 'error' in err && err.error.code !== -32700) {
        ctx.fail('TG-CHK-A5', {
          evidence: `malformed JSON body answered HTTP ${ex.status} with JSON-RPC code ${err.error.code} (expected -32700)`,
        });
      }
    }
    if (!t.alive())
      ctx.fail('TG-CHK-A5', {
        subject: 'crash',
        severity: 'critical',
        evidence: 'the server died after receiving malformed JSON',
      });
  });

  await ctx.check('TG-CHK-A6', async () => {
    const probes: [string, JsonObject][] = [['tools/call', { name: 42, arguments: {} }]];
    if (isPlainObject(id.capabilities['tools'])) probes.push(['tools/list', { cursor: 42 }]);
    for (const [method, params] of probes) {
      const r = await errorCodeOf(t.request(method, params));
      if (r.code !== -32602) {
        ctx.fail('TG-CHK-A6', {
          subject: `${method} ${brief(params)}`,
          evidence: `${method} with ${brief(params)} answered ${r.ok ? `a result ${r.text}` : r.text}; expected -32602`,
        });
      }
    }
  });

  await ctx.check('TG-CHK-A7', async () => {
    const stdio = ctx.stdio;
    if (stdio !== undefined) {
      const rawId = `tg-id-${ctx.canary.token}`;
      const since = stdio.unsolicited.length;
      stdio.sendRaw(
        JSON.stringify({ jsonrpc: '2.0', id: rawId, method: 'tools/list', params: withEnvelope(t.era, {}) }),
      );
      const reply = await stdio.expectUnsolicited(isResponseTo(rawId), ctx.options.timeoutMs, since);
      if (reply === undefined) {
        const other = stdio.unsolicited.slice(since).find((m) => 'result' in m || 'error' in m);
        ctx.fail('TG-CHK-A7', {
          subject: 'string id',
          evidence:
            other === undefined
              ? `no response carried the string id "${rawId}"`
              : `the response to string id "${rawId}" came back with id ${brief((other as { id: unknown }).id)}`,
        });
      }
      const before = stdio.unsolicited.length;
      stdio.sendRaw(
        JSON.stringify({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: withEnvelope(t.era, { requestId: 'tg-never-sent', reason: 'probe' }),
        }),
      );
      await sleep(500);
      const answers = stdio.unsolicited.slice(before).filter((m) => 'result' in m || 'error' in m);
      if (answers.length > 0)
        ctx.fail('TG-CHK-A7', {
          subject: 'notification answered',
          evidence: `a notification got a response: ${brief(answers[0])}`,
        });
    } else if (ctx.http !== undefined) {
      const http = ctx.http;
      const rawId = `tg-id-${ctx.canary.token}`;
      const body = { jsonrpc: '2.0', id: rawId, method: 'tools/list', params: withEnvelope(t.era, {}) ?? {} };
      const ex = await http.post(body, { headers: http.eraHeaders('tools/list', {}) });
      const resp = ex.messages.find((m) => 'result' in m || 'error' in m);
      if (resp !== undefined && (resp as { id: unknown }).id !== rawId) {
        ctx.fail('TG-CHK-A7', {
          subject: 'string id',
          evidence: `request id "${rawId}" came back as ${brief((resp as { id: unknown }).id)}`,
        });
      }
    }
  });

  await ctx.check(
    'TG-CHK-A8',
    async () => {
      const name = `toolgate-no-such-tool-${ctx.canary.token}`;
      const r = await ctx.callTool(name, {}, 'valid', 'unknown tool');
      if (r.outcome === 'result') {
        ctx.fail('TG-CHK-A8', {
          evidence: `tools/call of unknown tool "${name}" returned a tool result ${brief(r.result)} instead of a JSON-RPC error`,
        });
      } else if (r.outcome === 'error' && r.error?.code !== -32602) {
        ctx.fail('TG-CHK-A8', {
          severity: 'low',
          evidence: `unknown tool answered JSON-RPC ${r.error?.code} (spec example: -32602)`,
        });
      }
    },
    isPlainObject(id.capabilities['tools']) ? undefined : 'no tools capability',
  );
}

const CONTENT_TYPES = new Set(['text', 'image', 'audio', 'resource_link', 'resource']);

/** Problems with one tools/call result's shape (empty when valid). */
export function resultShapeProblems(result: JsonObject, era: 'legacy' | 'modern'): string[] {
  const problems: string[] = [];
  if (era === 'modern' && result['resultType'] === undefined) problems.push('no resultType');
  if (result['resultType'] === 'input_required') return problems;
  const content = result['content'];
  if (!Array.isArray(content)) {
    problems.push('content is not an array');
    return problems;
  }
  for (const [i, item] of content.entries()) {
    if (!isPlainObject(item) || typeof item['type'] !== 'string') {
      problems.push(`content[${i}] has no type`);
      continue;
    }
    const type = item['type'];
    if (!CONTENT_TYPES.has(type)) problems.push(`content[${i}] has unknown type "${type}"`);
    if (type === 'text' && typeof item['text'] !== 'string')
      problems.push(`content[${i}] text item without a string \`text\``);
    if (
      (type === 'image' || type === 'audio') &&
      (typeof item['data'] !== 'string' || typeof item['mimeType'] !== 'string')
    ) {
      problems.push(`content[${i}] ${type} item without data/mimeType`);
    }
  }
  if (result['isError'] !== undefined && typeof result['isError'] !== 'boolean')
    problems.push('isError is not a boolean');
  return problems;
}

/** Protocol checks that need the calls made by later groups (A9–A12). */
export async function runLateProtocolChecks(ctx: CheckContext): Promise<void> {
  await ctx.check('TG-CHK-A9', () => {
    for (const tool of ctx.tools) {
      if (!isPlainObject(tool['inputSchema']))
        ctx.fail('TG-CHK-A9', {
          subject: `tool ${tool.name}`,
          evidence: `tool "${tool.name}" has no inputSchema object`,
        });
    }
    for (const r of ctx.calls) {
      if (r.outcome !== 'result' || r.result === undefined) continue;
      const problems = resultShapeProblems(r.result, ctx.target.era);
      if (problems.length > 0)
        ctx.fail('TG-CHK-A9', {
          subject: `result of ${r.tool}`,
          evidence: `tools/call ${r.tool} (${r.label}): ${problems.join('; ')}`,
        });
    }
  });

  await ctx.check('TG-CHK-A10', () => {
    for (const tool of ctx.tools) {
      const schema = tool['outputSchema'];
      if (!isPlainObject(schema)) continue;
      const compiled = compileSchema(schema);
      for (const r of ctx.calls.filter((c) => c.tool === tool.name && succeeded(c))) {
        const sc = r.result?.['structuredContent'];
        if (sc === undefined) {
          ctx.fail('TG-CHK-A10', {
            subject: tool.name,
            evidence: `"${tool.name}" declares outputSchema but a successful result (${r.label}) has no structuredContent`,
          });
          break;
        }
        if (compiled.validate !== undefined && !compiled.validate(sc)) {
          ctx.fail('TG-CHK-A10', {
            subject: tool.name,
            evidence: `structuredContent of "${tool.name}" does not match its outputSchema: ${compiled.errors()}; got ${brief(sc)}`,
          });
          break;
        }
      }
    }
  });

  await ctx.check('TG-CHK-A11', () => {
    for (const r of ctx.calls) {
      for (let i = 1; i < r.progress.length; i++) {
        const prev = r.progress[i - 1]?.progress ?? 0;
        const cur = r.progress[i]?.progress ?? 0;
        if (cur <= prev) {
          ctx.fail('TG-CHK-A11', {
            subject: r.tool,
            evidence: `progress of "${r.tool}" went ${prev} → ${cur} (must increase): ${brief(r.progress.map((p) => p.progress))}`,
          });
          break;
        }
      }
    }
    const late = (ctx.stdio?.unsolicited ?? []).filter(
      (m: JsonRpcMessage) =>
        'method' in m &&
        m.method === 'notifications/progress' &&
        String(m.params?.['progressToken'] ?? '').startsWith('tgc-'),
    );
    if (late.length > 0)
      ctx.fail('TG-CHK-A11', {
        subject: 'after completion',
        evidence: `${late.length} progress notification(s) arrived for finished requests, e.g. ${brief(late[0])}`,
      });
  });

  const stdio = ctx.stdio;
  const slow = ctx.calls
    .filter((c) => c.purpose === 'valid' && succeeded(c) && c.ms >= 500)
    .sort((a, b) => b.ms - a.ms)[0];
  await ctx.check(
    'TG-CHK-A12',
    async () => {
      if (stdio === undefined || slow === undefined) return;
      const rawId = `tg-cancel-${ctx.canary.token}`;
      stdio.sendRaw(
        JSON.stringify({
          jsonrpc: '2.0',
          id: rawId,
          method: 'tools/call',
          params: withEnvelope(ctx.target.era, {
            name: slow.tool,
            arguments: slow.args as JsonObject,
            _meta: { progressToken: rawId },
          }),
        }),
      );
      const since = stdio.unsolicited.length;
      await sleep(150);
      stdio.sendRaw(
        JSON.stringify({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: withEnvelope(ctx.target.era, { requestId: rawId, reason: 'toolgate check cancellation probe' }),
        }),
      );
      const waitMs = Math.min(ctx.options.timeoutMs, Math.max(1500, slow.ms * 2));
      const reply = await stdio.expectUnsolicited(isResponseTo(rawId), waitMs, since);
      if (reply !== undefined) {
        ctx.fail('TG-CHK-A12', {
          subject: slow.tool,
          evidence: `"${slow.tool}" still answered request ${rawId} after notifications/cancelled: ${brief(reply)}`,
        });
      }
    },
    stdio === undefined
      ? 'checked on stdio targets (HTTP cancellation is era-specific)'
      : slow === undefined
        ? 'no callable tool runs long enough (≥ 500 ms) to cancel'
        : undefined,
  );
}
