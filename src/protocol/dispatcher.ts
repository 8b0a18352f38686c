import { randomUUID } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.js';
import { GatewayError, isGatewayError } from '../errors.js';
import { RemoteError, type ProgressUpdate } from '../jsonrpc/peer.js';
import { isObject, type JsonObject, type JsonRpcRequest } from '../jsonrpc/types.js';
import type { GatewayMetrics } from '../telemetry/metrics.js';
import type { Logger } from '../telemetry/logger.js';
import type { Era, Principal, ToolCall, ToolEntry, ToolResult, Upstream } from '../types.js';
import type { NotificationHub } from './hub.js';
import { paginate } from './paginate.js';
import {
  LATEST_LEGACY_VERSION,
  LEGACY_VERSIONS,
  MODERN_VERSIONS,
  SERVER_INFO_META_KEY,
  isReservedMetaKey,
} from './versions.js';

/** MCP log levels, least to most severe (RFC 5424 names, as in the spec). */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** State of one legacy session or stdio connection (never shared between clients). */
export interface ClientSession {
  /** Set by `logging/setLevel`. */
  logLevel?: LogLevel;
  /** Resource URIs this client subscribed to. */
  readonly subscriptions: Set<string>;
}

/** Everything the dispatcher needs to know about one request; made by the face, per request. */
export interface RequestContext {
  readonly era: Era;
  readonly protocolVersion: string;
  readonly principal: Principal;
  readonly clientCapabilities: JsonObject;
  readonly signal: AbortSignal;
  /** Aborts `signal` (the face owns the controller). */
  readonly abort: (reason: Error) => void;
  /** Request-scoped notification to the client (progress, log message); absent when it cannot receive any. */
  readonly notify?: (method: string, params: JsonObject) => void;
  /** Relays a request to the client (legacy era only: sampling, elicitation, roots). */
  readonly request?: (method: string, params: JsonObject | undefined, signal: AbortSignal) => Promise<JsonObject>;
  /** Modern: log level from the request's `_meta` envelope. */
  readonly logLevel?: LogLevel;
  readonly session?: ClientSession;
  /** Correlation id; minted when absent. */
  readonly correlationId?: string;
}

/** Which principal may see which tool/prompt/resource. One rule set decides listing and calling. */
export interface Authorizer {
  toolVisible(principal: Principal, entry: ToolEntry): boolean;
  promptVisible(principal: Principal, name: string): boolean;
  resourceVisible(principal: Principal, uri: string): boolean;
  /**
   * Why an existing item the caller cannot see was refused, when the caller may be told (e.g. the scopes it
   * lacks); undefined answers as if the item did not exist. For a tool, an answer lets the call into the tool's
   * chain, whose `authorize` policy refuses it with an isError result (and the audit policy records it); for a
   * prompt or resource the returned error is thrown (HTTP 403 `insufficient_scope`).
   */
  explainDenial?(principal: Principal, kind: 'tool' | 'prompt' | 'resource', name: string): GatewayError | undefined;
}

/** Allows everything (no auth configured). */
export const ALLOW_ALL: Authorizer = {
  toolVisible: () => true,
  promptVisible: () => true,
  resourceVisible: () => true,
};

/** Options of the `Dispatcher`. */
export interface DispatcherOptions {
  catalog: Catalog;
  upstreams: ReadonlyMap<string, Upstream>;
  serverInfo: { name: string; version: string };
  instructions?: string;
  pageSize: number;
  logger: Logger;
  metrics: GatewayMetrics;
  authorizer?: Authorizer;
  /** Reference-counts upstream resource subscriptions. */
  hub?: NotificationHub;
  /** Counts calls in flight, for graceful shutdown. */
  onCallStart?: () => void;
  onCallEnd?: () => void;
  /** Admission of every request except `tools/call` (whose limits live in its chain): throws to refuse (429). */
  admit?: (method: string, ctx: RequestContext) => Promise<void> | void;
}

interface ToolMetrics {
  ok: { inc(): void };
  toolError: { inc(): void };
  error: { inc(): void };
  duration: { observe(seconds: number): void };
}

type Handler = (params: JsonObject, ctx: RequestContext) => Promise<JsonObject>;

const BOTH: readonly Era[] = ['legacy', 'modern'];
const LEGACY_ONLY: readonly Era[] = ['legacy'];
const MODERN_ONLY: readonly Era[] = ['modern'];

/** Results of these methods carry cache hints in the modern era (spec 2026-07-28 caching). */
const CACHEABLE = new Set([
  'server/discover',
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
]);

/**
 * Maps MCP methods onto the catalog for both eras. Holds no per-client state: everything about the caller comes
 * in the `RequestContext` the face builds for each request, so one dispatcher serves every client safely.
 */
export class Dispatcher {
  private readonly metricsByEntry = new WeakMap<ToolEntry, ToolMetrics>();
  private readonly handlers = new Map<string, { eras: readonly Era[]; handle: Handler }>();
  private readonly authorizer: Authorizer;
  private readonly log: Logger;

  constructor(private readonly options: DispatcherOptions) {
    this.authorizer = options.authorizer ?? ALLOW_ALL;
    this.log = options.logger;
    const on = (method: string, eras: readonly Era[], handle: Handler): void => {
      this.handlers.set(method, { eras, handle });
    };
    on('ping', LEGACY_ONLY, async () => ({}));
    on('server/discover', MODERN_ONLY, async () => this.discoverResult());
    on('tools/list', BOTH, (p, ctx) => this.listTools(p, ctx));
    on('tools/call', BOTH, (p, ctx) => this.callTool(p, ctx));
    on('prompts/list', BOTH, (p, ctx) => this.listPrompts(p, ctx));
    on('prompts/get', BOTH, (p, ctx) => this.getPrompt(p, ctx));
    on('resources/list', BOTH, (p, ctx) => this.listResources(p, ctx));
    on('resources/templates/list', BOTH, (p, ctx) => this.listTemplates(p, ctx));
    on('resources/read', BOTH, (p, ctx) => this.readResource(p, ctx));
    on('resources/subscribe', LEGACY_ONLY, (p, ctx) => this.subscribe(p, ctx));
    on('resources/unsubscribe', LEGACY_ONLY, (p, ctx) => this.unsubscribe(p, ctx));
    on('completion/complete', BOTH, (p, ctx) => this.complete(p, ctx));
    on('logging/setLevel', LEGACY_ONLY, async (p, ctx) => this.setLevel(p, ctx));
  }

  /** True when the method exists in the era (faces use it to answer -32601 early, with the right HTTP status). */
  has(method: string, era: Era): boolean {
    return this.handlers.get(method)?.eras.includes(era) === true;
  }

  /** Serves one request. Throws `GatewayError`/`RemoteError` for JSON-RPC errors; the face converts them. */
  async handle(method: string, params: JsonObject | undefined, ctx: RequestContext): Promise<JsonObject> {
    const h = this.handlers.get(method);
    if (h === undefined || !h.eras.includes(ctx.era)) {
      throw new GatewayError('TG_METHOD_NOT_FOUND', `Method not found: ${method}`);
    }
    this.options.metrics.requests.inc({ method, era: ctx.era });
    if (method !== 'tools/call' && this.options.admit !== undefined) await this.options.admit(method, ctx);
    const result = await h.handle(params ?? {}, ctx);
    return this.shape(method, result, ctx.era);
  }

  /** The `initialize` result for a legacy client (the face owns the session it creates). */
  initializeResult(requestedVersion: unknown): JsonObject {
    const version =
      typeof requestedVersion === 'string' && LEGACY_VERSIONS.includes(requestedVersion)
        ? requestedVersion
        : LATEST_LEGACY_VERSION;
    const result: JsonObject = {
      protocolVersion: version,
      capabilities: this.capabilities('legacy'),
      serverInfo: this.options.serverInfo,
    };
    const instructions = this.instructions();
    if (instructions !== undefined) result['instructions'] = instructions;
    return result;
  }

  /** Capabilities toolgate offers in an era. */
  capabilities(era: Era): JsonObject {
    const caps: JsonObject = {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      completions: {},
    };
    if (era === 'legacy') caps['logging'] = {};
    return caps;
  }

  private discoverResult(): JsonObject {
    const result: JsonObject = { supportedVersions: [...MODERN_VERSIONS], capabilities: this.capabilities('modern') };
    const instructions = this.instructions();
    if (instructions !== undefined) result['instructions'] = instructions;
    return result;
  }

  private instructions(): string | undefined {
    if (this.options.instructions !== undefined) return this.options.instructions;
    const parts: string[] = [];
    for (const u of this.options.upstreams.values()) {
      const text = u.info?.instructions;
      if (text) parts.push(`## ${u.name}\n${text}`);
    }
    return parts.length > 0 ? parts.join('\n\n') : undefined;
  }

  /** Adds or strips era-specific result fields. Upstream results of the other era are normalised here. */
  private shape(method: string, result: JsonObject, era: Era): JsonObject {
    if (era === 'modern') {
      const out: JsonObject = { ...result };
      if (typeof out['resultType'] !== 'string') out['resultType'] = 'complete';
      const meta = isObject(out['_meta']) ? { ...out['_meta'] } : {};
      meta[SERVER_INFO_META_KEY] = this.options.serverInfo;
      out['_meta'] = meta;
      if (CACHEABLE.has(method) && out['resultType'] === 'complete') {
        // Lists may differ per principal once authorization is on: never let a shared cache reuse them.
        out['ttlMs'] = 0;
        out['cacheScope'] = 'private';
      }
      return out;
    }
    if ('resultType' in result || 'ttlMs' in result || 'cacheScope' in result) {
      const { resultType: _r, ttlMs: _t, cacheScope: _c, ...rest } = result;
      return rest;
    }
    return result;
  }

  private async listTools(params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
    const visible = this.options.catalog.listTools().filter((e) => this.authorizer.toolVisible(ctx.principal, e));
    return this.page('tools', visible, (e) => e.name, params);
  }

  /** One page of a list result (`field` is `tools`, `prompts`, …), items sorted by `key`. */
  private page<T extends { definition: unknown }>(
    field: string,
    items: readonly T[],
    key: (item: T) => string,
    params: JsonObject,
  ): JsonObject {
    const page = paginate(items, key, params['cursor'], this.options.pageSize);
    const result: JsonObject = { [field]: page.items.map((i) => i.definition) };
    if (page.nextCursor !== undefined) result['nextCursor'] = page.nextCursor;
    return result;
  }

  private async callTool(params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
    const name = params['name'];
    if (typeof name !== 'string')
      throw new GatewayError('TG_INVALID_PARAMS', 'tools/call needs params.name (a string)');
    const args = params['arguments'] ?? {};
    if (!isObject(args)) throw new GatewayError('TG_INVALID_PARAMS', 'tools/call params.arguments must be an object');
    const entry = this.options.catalog.resolveTool(name);
    if (
      entry === undefined ||
      (!this.authorizer.toolVisible(ctx.principal, entry) &&
        this.authorizer.explainDenial?.(ctx.principal, 'tool', entry.name) === undefined)
    ) {
      throw new GatewayError('TG_UNKNOWN_TOOL', `Unknown tool: ${name}`, { data: { name } });
    }
    const correlationId = ctx.correlationId ?? randomUUID();
    const call = this.makeCall(entry, args, params, ctx, correlationId);
    const metrics = this.options.metrics;
    this.options.onCallStart?.();
    metrics.inflight.inc();
    const started = call.startedAt;
    let outcome = 'error';
    try {
      const result = await entry.invoke(call);
      outcome = result.isError === true ? 'tool_error' : 'ok';
      if (result.isError === true) {
        const code = (result._meta?.['toolgate/error'] as { code?: string } | undefined)?.code;
        if (code !== undefined) metrics.toolErrors.inc({ tool: entry.name, code });
      }
      return this.adaptToolResult(result, ctx.era, entry.name);
    } finally {
      metrics.inflight.dec();
      const m = this.toolMetrics(entry);
      (outcome === 'ok' ? m.ok : outcome === 'tool_error' ? m.toolError : m.error).inc();
      m.duration.observe((performance.now() - started) / 1000);
      this.options.onCallEnd?.();
    }
  }

  /** Label-bound metric children of a tool, made once per catalog entry (no label hashing per call). */
  private toolMetrics(entry: ToolEntry): ToolMetrics {
    let m = this.metricsByEntry.get(entry);
    if (m === undefined) {
      const { toolCalls, toolCallDuration } = this.options.metrics;
      m = {
        ok: toolCalls.labels(entry.name, 'ok'),
        toolError: toolCalls.labels(entry.name, 'tool_error'),
        error: toolCalls.labels(entry.name, 'error'),
        duration: toolCallDuration.labels(entry.name),
      };
      this.metricsByEntry.set(entry, m);
    }
    return m;
  }

  private makeCall(
    entry: ToolEntry,
    args: JsonObject,
    params: JsonObject,
    ctx: RequestContext,
    correlationId: string,
  ): ToolCall {
    const clientMeta = isObject(params['_meta']) ? params['_meta'] : undefined;
    let meta: JsonObject | undefined;
    if (clientMeta !== undefined) {
      for (const [k, v] of Object.entries(clientMeta)) {
        if (isReservedMetaKey(k)) continue;
        (meta ??= {})[k] = v;
      }
    }
    const progressToken = clientMeta?.['progressToken'];
    const notify = ctx.notify;
    const call: {
      -readonly [K in keyof ToolCall]: ToolCall[K];
    } = {
      entry,
      target: { upstream: entry.upstream, toolName: entry.toolName },
      arguments: args,
      principal: ctx.principal,
      correlationId,
      signal: ctx.signal,
      abort: ctx.abort,
      meta,
      log: this.log.child({ cid: correlationId, tool: entry.name }),
      startedAt: performance.now(),
    };
    if (notify !== undefined && (typeof progressToken === 'string' || typeof progressToken === 'number')) {
      let last = -Infinity;
      call.progress = (u: ProgressUpdate) => {
        // Progress MUST increase; a retried attempt may restart from zero, so only news is relayed.
        if (!(u.progress > last)) return;
        last = u.progress;
        notify('notifications/progress', { progressToken, ...u });
      };
    }
    if (notify !== undefined) {
      const threshold = ctx.era === 'modern' ? ctx.logLevel : (ctx.session?.logLevel ?? 'debug');
      if (threshold !== undefined) {
        call.clientNotify = (method, p) => {
          if (method !== 'notifications/message' || p === undefined) return;
          if (levelIndex(p['level']) >= levelIndex(threshold)) notify(method, p);
        };
      }
    }
    const request = ctx.request;
    if (request !== undefined) {
      const caps = ctx.clientCapabilities;
      call.clientRequest = (req: JsonRpcRequest, signal: AbortSignal) => {
        const needed = req.method.startsWith('sampling/')
          ? 'sampling'
          : req.method.startsWith('elicitation/')
            ? 'elicitation'
            : req.method.startsWith('roots/')
              ? 'roots'
              : undefined;
        if (needed === undefined || caps[needed] === undefined) {
          return Promise.reject(
            new RemoteError(-32601, `The client did not declare the ${needed ?? req.method} capability`),
          );
        }
        return request(req.method, req.params, signal);
      };
    }
    return call;
  }

  private adaptToolResult(result: ToolResult, era: Era, tool: string): JsonObject {
    if (era === 'legacy' && result['resultType'] === 'input_required') {
      return {
        content: [
          {
            type: 'text',
            text: `The tool "${tool}" needs interactive input, which this client's protocol version (≤2025-11-25) cannot provide through the gateway.`,
          },
        ],
        isError: true,
      };
    }
    return result as unknown as JsonObject;
  }

  private async listPrompts(params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
    const visible = this.options.catalog
      .listPrompts()
      .filter((p) => this.authorizer.promptVisible(ctx.principal, p.name));
    return this.page('prompts', visible, (p) => p.name, params);
  }

  private async getPrompt(params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
    const name = params['name'];
    if (typeof name !== 'string')
      throw new GatewayError('TG_INVALID_PARAMS', 'prompts/get needs params.name (a string)');
    const entry = this.options.catalog.resolvePrompt(name);
    if (entry === undefined || !this.authorizer.promptVisible(ctx.principal, name)) {
      const why = entry === undefined ? undefined : this.authorizer.explainDenial?.(ctx.principal, 'prompt', name);
      throw why ?? new GatewayError('TG_UNKNOWN_PROMPT', `Unknown prompt: ${name}`, { data: { name } });
    }
    return this.forward(entry.upstream, 'prompts/get', { ...stripReserved(params), name: entry.promptName }, ctx);
  }

  private async listResources(params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
    const visible = this.options.catalog
      .listResources()
      .filter((r) => this.authorizer.resourceVisible(ctx.principal, r.key));
    return this.page('resources', visible, (r) => r.key, params);
  }

  private async listTemplates(params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
    const visible = this.options.catalog
      .listResourceTemplates()
      .filter((r) => this.authorizer.resourceVisible(ctx.principal, r.key));
    return this.page('resourceTemplates', visible, (r) => r.key, params);
  }

  private resourceUpstream(params: JsonObject, ctx: RequestContext): { uri: string; upstream: Upstream } {
    const uri = params['uri'];
    if (typeof uri !== 'string') throw new GatewayError('TG_INVALID_PARAMS', 'params.uri (a string) is required');
    const upstream = this.options.catalog.resolveResource(uri);
    if (upstream === undefined || !this.authorizer.resourceVisible(ctx.principal, uri)) {
      const why = upstream === undefined ? undefined : this.authorizer.explainDenial?.(ctx.principal, 'resource', uri);
      throw why ?? new GatewayError('TG_RESOURCE_NOT_FOUND', `Resource not found: ${uri}`, { data: { uri } });
    }
    return { uri, upstream };
  }

  private async readResource(params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
    const { upstream } = this.resourceUpstream(params, ctx);
    return this.forward(upstream, 'resources/read', stripReserved(params), ctx);
  }

  private async subscribe(params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
    const { uri } = this.resourceUpstream(params, ctx);
    const subs = ctx.session?.subscriptions;
    if (subs !== undefined && !subs.has(uri)) {
      subs.add(uri);
      await this.options.hub?.retain(uri);
    }
    return {};
  }

  private async unsubscribe(params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
    const uri = params['uri'];
    if (typeof uri !== 'string') throw new GatewayError('TG_INVALID_PARAMS', 'params.uri (a string) is required');
    const subs = ctx.session?.subscriptions;
    if (subs?.delete(uri) === true) await this.options.hub?.release(uri);
    return {};
  }

  private async complete(params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
    const ref = params['ref'];
    if (!isObject(ref)) throw new GatewayError('TG_INVALID_PARAMS', 'completion/complete needs params.ref');
    if (ref['type'] === 'ref/prompt' && typeof ref['name'] === 'string') {
      const entry = this.options.catalog.resolvePrompt(ref['name']);
      if (entry === undefined || !this.authorizer.promptVisible(ctx.principal, ref['name'])) {
        throw new GatewayError('TG_UNKNOWN_PROMPT', `Unknown prompt: ${ref['name']}`);
      }
      return this.forward(
        entry.upstream,
        'completion/complete',
        { ...stripReserved(params), ref: { ...ref, name: entry.promptName } },
        ctx,
      );
    }
    if (ref['type'] === 'ref/resource' && typeof ref['uri'] === 'string') {
      const upstream =
        this.options.catalog.resolveTemplate(ref['uri']) ?? this.options.catalog.resolveResource(ref['uri']);
      if (upstream === undefined || !this.authorizer.resourceVisible(ctx.principal, ref['uri'])) {
        throw new GatewayError('TG_RESOURCE_NOT_FOUND', `Resource not found: ${ref['uri']}`);
      }
      return this.forward(upstream, 'completion/complete', stripReserved(params), ctx);
    }
    throw new GatewayError(
      'TG_INVALID_PARAMS',
      'params.ref must be {type:"ref/prompt",name} or {type:"ref/resource",uri}',
    );
  }

  private setLevel(params: JsonObject, ctx: RequestContext): JsonObject {
    const level = params['level'];
    if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level)) {
      throw new GatewayError('TG_INVALID_PARAMS', `level must be one of ${LOG_LEVELS.join(', ')}`);
    }
    if (ctx.session !== undefined) ctx.session.logLevel = level as LogLevel;
    return {};
  }

  /** Forwards a non-tool request to an upstream; its JSON-RPC errors are relayed, transport failures reported. */
  private async forward(
    upstream: Upstream,
    method: string,
    params: JsonObject,
    ctx: RequestContext,
  ): Promise<JsonObject> {
    try {
      return await upstream.call(method, params, { signal: ctx.signal });
    } catch (err) {
      if (err instanceof RemoteError) throw err;
      if (isGatewayError(err) && (err.spec.surface === 'protocol' || err.code === 'TG_CANCELLED')) throw err;
      throw new GatewayError(
        'TG_UPSTREAM_REQUEST_FAILED',
        `Upstream "${upstream.name}" could not serve ${method}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
}

function levelIndex(level: unknown): number {
  const i = (LOG_LEVELS as readonly unknown[]).indexOf(level);
  return i === -1 ? 0 : i;
}

/** Removes per-hop `_meta` keys before forwarding params upstream (the upstream hop adds its own). */
function stripReserved(params: JsonObject): JsonObject {
  const meta = params['_meta'];
  if (!isObject(meta)) return params;
  const kept: JsonObject = {};
  for (const [k, v] of Object.entries(meta)) if (!isReservedMetaKey(k)) kept[k] = v;
  const out = { ...params };
  if (Object.keys(kept).length > 0) out['_meta'] = kept;
  else delete out['_meta'];
  return out;
}
