import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { CatalogKind } from '../catalog/catalog.js';
import { GatewayError } from '../errors.js';
import { readLines } from '../jsonrpc/line-reader.js';
import { JsonRpcPeer } from '../jsonrpc/peer.js';
import {
  classifyMessage,
  errorResponse,
  isObject,
  type JsonObject,
  type JsonRpcMessage,
  type JsonRpcRequest,
  type RequestId,
} from '../jsonrpc/types.js';
import type { ClientSession, LogLevel, RequestContext } from '../protocol/dispatcher.js';
import { envelopeVersion, readModernEnvelope } from '../protocol/envelope.js';
import { listChangedMethod, type Subscriber } from '../protocol/hub.js';
import { ListenSubscription, parseListenFilter } from '../protocol/listen.js';
import { toWireError } from '../protocol/wire-error.js';
import type { Gateway } from '../gateway.js';
import type { Logger } from '../telemetry/logger.js';
import type { Era, Principal } from '../types.js';

/** Options of `serveStdioFace`. */
export interface StdioFaceOptions {
  input: Readable;
  output: Writable;
  logger: Logger;
  /** Called when the client closes stdin (the face then expects the gateway to stop). */
  onEnd?: () => void;
}

/** The principal of the one local client on a stdio face (trusted like the user who started the process). */
const STDIO_PRINCIPAL: Principal = Object.freeze({
  subject: 'stdio',
  scopes: Object.freeze(['*']) as readonly string[],
  claims: Object.freeze({}),
  authMethod: 'stdio' as const,
});

/**
 * Serves one MCP client over newline-delimited JSON-RPC on stdin/stdout (for desktop clients). stdout carries
 * only JSON-RPC messages; logs go to stderr. The era is pinned by how the client opens: `initialize` → legacy,
 * a request with a `_meta` envelope → modern (whose version is checked on every request, not just the first).
 */
export function serveStdioFace(gateway: Gateway, options: StdioFaceOptions): StdioConnection {
  const conn = new StdioConnection(gateway, options);
  readLines(options.input, (line) => conn.receiveLine(line), {
    onOverflow: (bytes) => conn.write(errorResponse(null, -32600, `Message too large (${bytes} bytes)`)),
  });
  options.input.once('end', () => conn.end());
  return conn;
}

/** The state of the one stdio client. */
export class StdioConnection implements ClientSession, Subscriber {
  logLevel?: LogLevel;
  readonly subscriptions = new Set<string>();
  private era: Era | undefined;
  private legacyVersion = '';
  private clientCapabilities: JsonObject = {};
  private initialized = false;
  private readonly inflight = new Map<RequestId, AbortController>();
  private readonly cancelledByClient = new Set<RequestId>();
  private readonly listens = new Map<RequestId, ListenSubscription>();
  private readonly peer: JsonRpcPeer;
  private readonly removeSubscriber: () => void;
  private ended = false;

  constructor(
    private readonly gateway: Gateway,
    private readonly options: StdioFaceOptions,
  ) {
    this.peer = new JsonRpcPeer({ send: (m) => this.write(m), tokenPrefix: 'tg-stdio' });
    this.removeSubscriber = gateway.hub.add(this);
    gateway.shutdownSignal.addEventListener('abort', () => {
      for (const c of this.inflight.values()) c.abort(gateway.shutdownSignal.reason);
    });
  }

  /** Writes one message as one line on stdout. */
  write(message: JsonRpcMessage): void {
    if (this.options.output.writable) this.options.output.write(JSON.stringify(message) + '\n');
  }

  receiveLine(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.write(errorResponse(null, -32700, 'Parse error: the line is not valid JSON'));
      return;
    }
    const kind = classifyMessage(value);
    switch (kind) {
      case 'success':
      case 'failure':
        this.peer.receive(value);
        return;
      case 'notification':
        this.onNotification(value as { method: string; params?: JsonObject });
        return;
      case 'request':
        void this.onRequest(value as JsonRpcRequest);
        return;
      default: {
        const id =
          isObject(value) && (typeof value['id'] === 'string' || typeof value['id'] === 'number') ? value['id'] : null;
        this.write(errorResponse(id, -32600, 'Invalid Request: not a JSON-RPC 2.0 message'));
      }
    }
  }

  /** stdin closed: end subscriptions and tell the owner. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const l of this.listens.values()) l.end(true);
    this.listens.clear();
    this.removeSubscriber();
    this.options.onEnd?.();
  }

  listChanged(kind: CatalogKind): void {
    // Modern clients hear about changes on their listen subscriptions; legacy ones unsolicited.
    if (this.era === 'legacy' && this.initialized) this.write({ jsonrpc: '2.0', method: listChangedMethod(kind) });
  }

  resourceUpdated(uri: string, params: JsonObject): void {
    if (this.era === 'legacy' && this.subscriptions.has(uri))
      this.write({ jsonrpc: '2.0', method: 'notifications/resources/updated', params });
  }

  private onNotification(n: { method: string; params?: JsonObject }): void {
    if (n.method === 'notifications/initialized') {
      this.initialized = true;
      return;
    }
    if (n.method === 'notifications/cancelled') {
      const id = n.params?.['requestId'];
      if (typeof id !== 'string' && typeof id !== 'number') return;
      const call = this.inflight.get(id);
      if (call !== undefined) {
        this.cancelledByClient.add(id);
        call.abort(new GatewayError('TG_CANCELLED', 'The client cancelled the request.'));
      }
      const listen = this.listens.get(id);
      if (listen !== undefined) {
        listen.end(false);
        this.listens.delete(id);
      }
    }
  }

  private async onRequest(req: JsonRpcRequest): Promise<void> {
    const cid = randomUUID();
    let era: Era = this.era ?? 'legacy';
    try {
      if (req.method === 'initialize') {
        this.era = 'legacy';
        const result = this.gateway.dispatcher.initializeResult(req.params?.['protocolVersion']);
        this.legacyVersion = result['protocolVersion'] as string;
        this.clientCapabilities = isObject(req.params?.['capabilities']) ? req.params['capabilities'] : {};
        this.write({ jsonrpc: '2.0', id: req.id, result });
        return;
      }
      const modern = this.era === 'modern' || (this.era === undefined && envelopeVersion(req.params) !== undefined);
      era = modern ? 'modern' : 'legacy';
      let ctx: RequestContext;
      const controller = new AbortController();
      const notify = (m: string, p: JsonObject): void => this.write({ jsonrpc: '2.0', method: m, params: p });
      if (modern) {
        const env = readModernEnvelope(req.params);
        this.era = 'modern';
        if (req.method === 'subscriptions/listen') {
          this.listens.set(
            req.id,
            new ListenSubscription(req.id, parseListenFilter(req.params), (m) => this.write(m), this.gateway.hub),
          );
          return;
        }
        ctx = {
          era: 'modern',
          protocolVersion: env.protocolVersion,
          principal: STDIO_PRINCIPAL,
          clientCapabilities: env.clientCapabilities,
          signal: controller.signal,
          abort: (reason) => controller.abort(reason),
          notify,
          correlationId: cid,
          ...(env.logLevel === undefined ? {} : { logLevel: env.logLevel }),
        };
      } else {
        if (this.era === undefined && req.method !== 'ping') {
          throw new GatewayError(
            'TG_NOT_INITIALIZED',
            'Send initialize first (or use protocol 2026-07-28 with a _meta envelope)',
          );
        }
        ctx = {
          era: 'legacy',
          protocolVersion: this.legacyVersion,
          principal: STDIO_PRINCIPAL,
          clientCapabilities: this.clientCapabilities,
          signal: controller.signal,
          abort: (reason) => controller.abort(reason),
          notify,
          request: (m, p, signal) => this.peer.request(m, p, { signal }),
          session: this,
          correlationId: cid,
        };
      }
      this.inflight.set(req.id, controller);
      try {
        const result = await this.gateway.dispatcher.handle(req.method, req.params, ctx);
        if (!this.cancelledByClient.delete(req.id)) this.write({ jsonrpc: '2.0', id: req.id, result });
      } finally {
        this.inflight.delete(req.id);
      }
    } catch (err) {
      // A request the client cancelled gets no response (spec: the receiver does not respond).
      if (this.cancelledByClient.delete(req.id)) return;
      const wire = toWireError(err, era, this.options.logger, cid);
      this.write(errorResponse(req.id, wire.error.code, wire.error.message, wire.error.data));
    }
  }
}
