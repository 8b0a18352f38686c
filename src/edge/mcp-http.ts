import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors.js';
import {
  classifyMessage,
  errorResponse,
  type JsonObject,
  type JsonRpcMessage,
  type JsonRpcRequest,
  type RequestId,
} from '../jsonrpc/types.js';
import type { Dispatcher, RequestContext } from '../protocol/dispatcher.js';
import { decodeHeaderValue, envelopeVersion, nameOfRequest, readModernEnvelope } from '../protocol/envelope.js';
import type { NotificationHub } from '../protocol/hub.js';
import { ListenSubscription, parseListenFilter } from '../protocol/listen.js';
import { ASSUMED_LEGACY_VERSION, LEGACY_VERSIONS, MODERN_VERSIONS } from '../protocol/versions.js';
import { toWireError } from '../protocol/wire-error.js';
import type { Logger } from '../telemetry/logger.js';
import type { GatewayMetrics } from '../telemetry/metrics.js';
import { ANONYMOUS, type Era, type Principal } from '../types.js';
import { readBody } from './body.js';
import { ResponseChannel } from './channel.js';
import type { LegacySession, SessionStore } from './sessions.js';

/** Resolves who is calling, or throws TG_UNAUTHENTICATED / TG_INSUFFICIENT_SCOPE (with WWW-Authenticate). */
export type Authenticate = (req: IncomingMessage) => Promise<Principal> | Principal;

/** Options of the `McpHttpHandler`. */
export interface McpHttpOptions {
  dispatcher: Dispatcher;
  hub: NotificationHub;
  sessions: SessionStore;
  logger: Logger;
  metrics: GatewayMetrics;
  maxBodyBytes: number;
  keepAliveMs?: number;
  authenticate?: Authenticate;
  /** True while the gateway drains for shutdown: new work is refused with 503. */
  draining: () => boolean;
}

const DEFAULT_KEEPALIVE_MS = 15_000;

interface Accepts {
  json: boolean;
  sse: boolean;
}

function accepts(req: IncomingMessage): Accepts {
  const a = req.headers.accept;
  if (a === undefined || a.includes('*/*')) return { json: true, sse: true };
  return { json: a.includes('application/json'), sse: a.includes('text/event-stream') };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The Streamable HTTP MCP endpoint, serving both eras on one path. A request is modern (2026-07-28, stateless)
 * when its `_meta` names a protocol version; `initialize` and anything carrying `Mcp-Session-Id` is legacy.
 * Each request gets its own context and response channel; nothing per client is shared.
 */
export class McpHttpHandler {
  private readonly keepAliveMs: number;
  private readonly listens = new Set<{ sub: ListenSubscription; channel: ResponseChannel }>();
  private readonly authenticate: Authenticate;
  /** Controllers of every request being served, so shutdown can cancel what did not drain in time. */
  private readonly active = new Set<AbortController>();

  constructor(private readonly options: McpHttpOptions) {
    this.keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEPALIVE_MS;
    this.authenticate = options.authenticate ?? (() => ANONYMOUS);
  }

  /** Number of open modern listen streams. */
  get listenCount(): number {
    return this.listens.size;
  }

  /** Serves one request on the MCP path (guards already passed). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const cid = randomUUID();
    try {
      switch (req.method) {
        case 'POST':
          await this.post(req, res, cid);
          return;
        case 'GET':
          await this.get(req, res);
          return;
        case 'DELETE':
          this.delete(req, res);
          return;
        default:
          throw new GatewayError(
            'TG_METHOD_NOT_ALLOWED',
            `HTTP ${req.method ?? '?'} is not supported on the MCP endpoint`,
          );
      }
    } catch (err) {
      this.httpError(res, err, 'legacy', cid, null);
    }
  }

  /** Cancels every request still being served (end of the shutdown drain). */
  abortAll(reason: GatewayError): void {
    for (const c of this.active) c.abort(reason);
  }

  /** Ends every listen stream gracefully (shutdown). */
  closeListens(): void {
    for (const l of this.listens) {
      l.sub.end(true);
      l.channel.end();
    }
    this.listens.clear();
  }

  private async post(req: IncomingMessage, res: ServerResponse, cid: string): Promise<void> {
    const ct = header(req, 'content-type');
    if (ct === undefined || !ct.includes('application/json')) {
      throw new GatewayError('TG_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    }
    const acc = accepts(req);
    if (!acc.json && !acc.sse)
      throw new GatewayError('TG_NOT_ACCEPTABLE', 'Accept must include application/json or text/event-stream');
    if (this.options.draining()) {
      req.resume();
      throw new GatewayError('TG_SHUTTING_DOWN', 'The gateway is shutting down', { retryAfterMs: 1000 });
    }
    const text = await readBody(req, this.options.maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new GatewayError('TG_PARSE_ERROR', 'Parse error: the body is not valid JSON');
    }
    if (Array.isArray(body))
      throw new GatewayError('TG_INVALID_REQUEST', 'JSON-RPC batches are not supported (removed in MCP 2025-06-18)');
    const kind = classifyMessage(body);
    if (kind === 'invalid') throw new GatewayError('TG_INVALID_REQUEST', 'Invalid Request: not a JSON-RPC 2.0 message');
    const msg = body as JsonRpcMessage;
    const sessionId = header(req, 'mcp-session-id');
    if (sessionId !== undefined) {
      await this.legacy(req, res, msg, kind, sessionId, acc, cid);
      return;
    }
    if (kind === 'request' && (msg as JsonRpcRequest).method === 'initialize') {
      await this.initialize(req, res, msg as JsonRpcRequest, acc);
      return;
    }
    const params = (msg as { params?: JsonObject }).params;
    const headerVersion = header(req, 'mcp-protocol-version');
    if (
      envelopeVersion(params) !== undefined ||
      (headerVersion !== undefined && MODERN_VERSIONS.includes(headerVersion))
    ) {
      await this.modern(req, res, msg, kind, acc, cid);
      return;
    }
    if (kind === 'notification') {
      res.writeHead(202).end();
      return;
    }
    throw new GatewayError(
      'TG_SESSION_REQUIRED',
      'Bad Request: no Mcp-Session-Id; send initialize first (or use protocol 2026-07-28 with a _meta envelope)',
    );
  }

  private async modern(
    req: IncomingMessage,
    res: ServerResponse,
    msg: JsonRpcMessage,
    kind: string,
    acc: Accepts,
    cid: string,
  ): Promise<void> {
    const id = 'id' in msg ? (msg.id as RequestId | null) : null;
    try {
      if (kind === 'success' || kind === 'failure')
        throw new GatewayError('TG_INVALID_REQUEST', 'Clients of 2026-07-28 do not send responses');
      const { method, params } = msg as JsonRpcRequest;
      const env = readModernEnvelope(params);
      const hv = header(req, 'mcp-protocol-version');
      if (hv !== env.protocolVersion) {
        throw new GatewayError(
          'TG_HEADER_MISMATCH',
          `MCP-Protocol-Version header ${hv === undefined ? 'is missing' : `(${hv}) does not match _meta (${env.protocolVersion})`}`,
          {
            data: { mismatch: 'MCP-Protocol-Version' },
          },
        );
      }
      const hm = header(req, 'mcp-method');
      if (hm === undefined || decodeHeaderValue(hm) !== method) {
        throw new GatewayError(
          'TG_HEADER_MISMATCH',
          `Mcp-Method header ${hm === undefined ? 'is missing' : 'does not match the body'}`,
          { data: { mismatch: 'Mcp-Method' } },
        );
      }
      const name = nameOfRequest(method, params);
      if (name !== undefined) {
        const hn = header(req, 'mcp-name');
        if (hn === undefined || decodeHeaderValue(hn) !== name) {
          throw new GatewayError(
            'TG_HEADER_MISMATCH',
            `Mcp-Name header ${hn === undefined ? 'is missing' : 'does not match the body'}`,
            { data: { mismatch: 'Mcp-Name' } },
          );
        }
      }
      if (kind === 'notification') {
        res.writeHead(202).end();
        return;
      }
      if (method === 'subscriptions/listen') {
        await this.listen(req, res, msg as JsonRpcRequest, acc);
        return;
      }
      if (!this.options.dispatcher.has(method, 'modern'))
        throw new GatewayError('TG_METHOD_NOT_FOUND', `Method not found: ${method}`);
      const principal = await this.authenticate(req);
      const channel = new ResponseChannel(res, { sse: acc.sse, keepAliveMs: this.keepAliveMs });
      const controller = new AbortController();
      // Modern HTTP: closing the response stream IS cancellation.
      res.once('close', () => {
        if (!res.writableFinished)
          controller.abort(new GatewayError('TG_CANCELLED', 'The client closed the request stream.'));
      });
      const ctx: RequestContext = {
        era: 'modern',
        protocolVersion: env.protocolVersion,
        principal,
        clientCapabilities: env.clientCapabilities,
        signal: controller.signal,
        abort: (reason) => controller.abort(reason),
        notify: (m, p) => void channel.push({ jsonrpc: '2.0', method: m, params: p }),
        correlationId: cid,
        ...(env.logLevel === undefined ? {} : { logLevel: env.logLevel }),
      };
      this.active.add(controller);
      try {
        await this.dispatch(channel, (msg as JsonRpcRequest).id, method, params, ctx);
      } finally {
        this.active.delete(controller);
      }
    } catch (err) {
      this.httpError(res, err, 'modern', cid, id);
    }
  }

  private async listen(req: IncomingMessage, res: ServerResponse, msg: JsonRpcRequest, acc: Accepts): Promise<void> {
    if (!acc.sse) throw new GatewayError('TG_NOT_ACCEPTABLE', 'subscriptions/listen needs Accept: text/event-stream');
    await this.authenticate(req);
    const channel = new ResponseChannel(res, { sse: true, keepAliveMs: this.keepAliveMs });
    channel.open();
    const sub = new ListenSubscription(
      msg.id,
      parseListenFilter(msg.params),
      (m) => void channel.push(m),
      this.options.hub,
    );
    const entry = { sub, channel };
    this.listens.add(entry);
    this.options.metrics.sessions.set({ kind: 'listen' }, this.listens.size);
    res.once('close', () => {
      sub.end(false);
      this.listens.delete(entry);
      this.options.metrics.sessions.set({ kind: 'listen' }, this.listens.size);
    });
  }

  private async initialize(
    req: IncomingMessage,
    res: ServerResponse,
    msg: JsonRpcRequest,
    acc: Accepts,
  ): Promise<void> {
    const principal = await this.authenticate(req);
    const params = msg.params ?? {};
    const result = this.options.dispatcher.initializeResult(params['protocolVersion']);
    const caps = (
      typeof params['capabilities'] === 'object' && params['capabilities'] !== null ? params['capabilities'] : {}
    ) as JsonObject;
    const session = this.options.sessions.create(result['protocolVersion'] as string, caps, principal);
    const channel = new ResponseChannel(res, {
      sse: acc.sse && !acc.json,
      keepAliveMs: 0,
      headers: { 'mcp-session-id': session.id },
    });
    channel.finish({ jsonrpc: '2.0', id: msg.id, result });
  }

  private async legacy(
    req: IncomingMessage,
    res: ServerResponse,
    msg: JsonRpcMessage,
    kind: string,
    sessionId: string,
    acc: Accepts,
    cid: string,
  ): Promise<void> {
    const session = this.session(sessionId);
    const id = 'id' in msg ? (msg.id as RequestId | null) : null;
    try {
      this.checkLegacyVersion(req);
      await this.checkPrincipal(req, session);
      session.lastActive = Date.now();
      if (kind === 'success' || kind === 'failure') {
        session.peer.receive(msg);
        res.writeHead(202).end();
        return;
      }
      if (kind === 'notification') {
        const n = msg as { method: string; params?: JsonObject };
        if (n.method === 'notifications/initialized') session.initialized = true;
        else if (n.method === 'notifications/cancelled') {
          const rid = n.params?.['requestId'];
          if (typeof rid === 'string' || typeof rid === 'number') {
            session.inflight.get(rid)?.abort(new GatewayError('TG_CANCELLED', 'The client cancelled the request.'));
          }
        }
        res.writeHead(202).end();
        return;
      }
      const request = msg as JsonRpcRequest;
      if (request.method === 'initialize')
        throw new GatewayError('TG_INVALID_REQUEST', 'The session is already initialized');
      if (!this.options.dispatcher.has(request.method, 'legacy'))
        throw new GatewayError('TG_METHOD_NOT_FOUND', `Method not found: ${request.method}`);
      const channel = new ResponseChannel(res, { sse: acc.sse, keepAliveMs: this.keepAliveMs });
      const controller = new AbortController();
      session.inflight.set(request.id, controller);
      this.active.add(controller);
      res.once('close', () => {
        if (!res.writableFinished) controller.abort(new GatewayError('TG_CANCELLED', 'The client disconnected.'));
      });
      const via = (m: JsonRpcMessage): void => {
        if (!channel.push(m)) session.stream?.push(m);
      };
      const ctx: RequestContext = {
        era: 'legacy',
        protocolVersion: session.protocolVersion,
        principal: session.principal,
        clientCapabilities: session.clientCapabilities,
        signal: controller.signal,
        abort: (reason) => controller.abort(reason),
        notify: (m, p) => void channel.push({ jsonrpc: '2.0', method: m, params: p }),
        request: (m, p, signal) => session.peer.request(m, p, { signal, via }),
        session,
        correlationId: cid,
      };
      try {
        await this.dispatch(channel, request.id, request.method, request.params, ctx);
      } finally {
        this.active.delete(controller);
        session.inflight.delete(request.id);
        session.lastActive = Date.now();
      }
    } catch (err) {
      this.httpError(res, err, 'legacy', cid, id);
    }
  }

  private async get(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sessionId = header(req, 'mcp-session-id');
    if (sessionId === undefined) {
      // Modern clients have no GET stream (spec 2026-07-28 backward compatibility: 405).
      throw new GatewayError(
        'TG_METHOD_NOT_ALLOWED',
        'GET needs an Mcp-Session-Id (legacy); 2026-07-28 clients use subscriptions/listen',
      );
    }
    if (!accepts(req).sse) throw new GatewayError('TG_NOT_ACCEPTABLE', 'GET needs Accept: text/event-stream');
    const session = this.session(sessionId);
    this.checkLegacyVersion(req);
    await this.checkPrincipal(req, session);
    if (session.stream !== undefined && !session.stream.closed) {
      throw new GatewayError('TG_STREAM_CONFLICT', 'Conflict: only one GET stream per session');
    }
    const channel = new ResponseChannel(res, { sse: true, keepAliveMs: this.keepAliveMs });
    channel.open();
    session.stream = channel;
    res.once('close', () => {
      if (session.stream === channel) session.stream = undefined;
    });
  }

  private delete(req: IncomingMessage, res: ServerResponse): void {
    const sessionId = header(req, 'mcp-session-id');
    if (sessionId === undefined) throw new GatewayError('TG_SESSION_REQUIRED', 'DELETE needs an Mcp-Session-Id');
    this.session(sessionId);
    this.options.sessions.delete(
      sessionId,
      new GatewayError('TG_SESSION_NOT_FOUND', 'Session terminated by the client'),
    );
    res.writeHead(200).end();
  }

  private session(id: string): LegacySession {
    const s = this.options.sessions.get(id);
    if (s === undefined)
      throw new GatewayError('TG_SESSION_NOT_FOUND', 'Session not found: it expired or was terminated; re-initialize');
    return s;
  }

  private checkLegacyVersion(req: IncomingMessage): void {
    const v = header(req, 'mcp-protocol-version') ?? ASSUMED_LEGACY_VERSION;
    if (!LEGACY_VERSIONS.includes(v)) {
      throw new GatewayError('TG_UNSUPPORTED_VERSION', `Unsupported MCP-Protocol-Version for this session: ${v}`, {
        data: { supported: [...LEGACY_VERSIONS], requested: v },
      });
    }
  }

  /** A session belongs to the principal that created it: another credential cannot ride on its id. */
  private async checkPrincipal(req: IncomingMessage, session: LegacySession): Promise<void> {
    if (this.options.authenticate === undefined) return;
    const p = await this.authenticate(req);
    // Subject and method together: a bearer token whose `sub` happens to read `key:<id>` must not ride an
    // API-key session (or the other way round).
    if (p.subject !== session.principal.subject || p.authMethod !== session.principal.authMethod) {
      throw new GatewayError('TG_SESSION_NOT_FOUND', 'Session not found for this credential; re-initialize');
    }
  }

  private async dispatch(
    channel: ResponseChannel,
    id: RequestId,
    method: string,
    params: JsonObject | undefined,
    ctx: RequestContext,
  ): Promise<void> {
    try {
      const result = await this.options.dispatcher.handle(method, params, ctx);
      channel.finish({ jsonrpc: '2.0', id, result });
    } catch (err) {
      const wire = toWireError(err, ctx.era, this.options.logger, ctx.correlationId ?? '');
      channel.finish(
        errorResponse(id, wire.error.code, wire.error.message, wire.error.data),
        wire.httpStatus,
        wire.headers,
      );
    }
  }

  private httpError(res: ServerResponse, err: unknown, era: Era, cid: string, id: RequestId | null): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const wire = toWireError(err, era, this.options.logger, cid);
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(wire.headers ?? {}) };
    if (wire.httpStatus === 405) headers['allow'] = 'GET, POST, DELETE';
    res.writeHead(wire.httpStatus, headers);
    res.end(JSON.stringify(errorResponse(id, wire.error.code, wire.error.message, wire.error.data)));
  }
}
