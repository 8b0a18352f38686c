import { GatewayError, abortReason } from '../errors.js';
import {
  classifyMessage,
  errorResponse,
  isObject,
  type JsonObject,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type RequestId,
} from './types.js';

/** A JSON-RPC error answered by the other side. `code` is the peer's JSON-RPC code. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** A progress update for an outgoing request. */
export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

/** Options of one outgoing request. */
export interface PeerRequestOptions {
  /** Aborting sends `notifications/cancelled` and rejects with the signal's reason (or TG_CANCELLED). */
  signal?: AbortSignal;
  /** When set, a progress token is minted and attached to `params._meta.progressToken`. */
  onProgress?: (update: ProgressUpdate) => void;
  /** Sends this request (and its cancellation) through another channel than the peer's default `send`. */
  via?: (message: JsonRpcMessage) => void;
}

/** Context of a request the other side sent us. */
export interface IncomingRequestContext {
  signal: AbortSignal;
}

/** Options of a `JsonRpcPeer`. */
export interface JsonRpcPeerOptions {
  /** Sends one message to the other side. Must not throw; a dead transport drops messages. */
  send: (message: JsonRpcMessage) => void;
  /** Notifications other than progress/cancellation that the peer handles itself. */
  onNotification?: (notification: JsonRpcNotification) => void;
  /** Requests from the other side (e.g. sampling from a server). Unset → -32601. */
  onRequest?: (request: JsonRpcRequest, ctx: IncomingRequestContext) => Promise<JsonObject>;
  /** A line or message that is not JSON-RPC (garbage on a stdio stream, an unknown response id). */
  onInvalid?: (raw: string, reason: string) => void;
  /** Prefix of minted progress tokens, to keep them unique across peers in one process. */
  tokenPrefix?: string;
}

interface Pending {
  resolve: (result: JsonObject) => void;
  reject: (err: unknown) => void;
  progressToken?: string;
  cleanup?: () => void;
}

/**
 * One JSON-RPC 2.0 connection endpoint: mints request ids, matches responses, relays progress, propagates
 * cancellation both ways. Framing-agnostic: feed it parsed messages or lines, give it a `send` function.
 * Request ids are this peer's own, so many callers can share one connection without id clashes.
 */
export class JsonRpcPeer {
  private nextId = 1;
  private nextToken = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private readonly progress = new Map<string, (update: ProgressUpdate) => void>();
  private readonly incoming = new Map<RequestId, AbortController>();
  private closedWith: unknown = undefined;
  private readonly tokenPrefix: string;

  constructor(private readonly options: JsonRpcPeerOptions) {
    this.tokenPrefix = options.tokenPrefix ?? 'tg';
  }

  /** Number of requests awaiting a response. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sends a request and resolves with its result; rejects with `RemoteError`, the abort reason, or the close error. */
  request(method: string, params: JsonObject | undefined, options: PeerRequestOptions = {}): Promise<JsonObject> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    const { signal, onProgress } = options;
    const send = options.via ?? this.options.send;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const id = this.nextId++;
    let outParams = params;
    let progressToken: string | undefined;
    if (onProgress !== undefined) {
      progressToken = `${this.tokenPrefix}-${this.nextToken++}`;
      const meta = isObject(params?.['_meta']) ? params['_meta'] : {};
      outParams = { ...(params ?? {}), _meta: { ...meta, progressToken } };
      this.progress.set(progressToken, onProgress);
    }
    return new Promise<JsonObject>((resolve, reject) => {
      const entry: Pending = { resolve, reject };
      if (progressToken !== undefined) entry.progressToken = progressToken;
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (!this.pending.has(id)) return;
          this.settle(id);
          send({
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: id, reason: reasonText(signal) },
          });
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.set(id, entry);
      const message: JsonRpcRequest =
        outParams === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params: outParams };
      send(message);
    });
  }

  /** Sends a notification. */
  notify(method: string, params?: JsonObject): void {
    if (this.closedWith !== undefined) return;
    this.options.send(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
  }

  /** Feeds one raw line (newline-delimited framing). Garbage is reported, never thrown. */
  receiveLine(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.options.onInvalid?.(line, 'not JSON');
      return;
    }
    this.receive(value, line);
  }

  /** Feeds one parsed message. */
  receive(value: unknown, raw?: string): void {
    switch (classifyMessage(value)) {
      case 'success': {
        const msg = value as { id: RequestId; result: JsonObject };
        const p = this.settle(msg.id);
        if (p === undefined)
          this.options.onInvalid?.(raw ?? JSON.stringify(value), 'response to an unknown request id');
        else p.resolve(msg.result);
        return;
      }
      case 'failure': {
        const msg = value as { id: RequestId | null; error: { code: number; message: string; data?: unknown } };
        const p = msg.id === null ? undefined : this.settle(msg.id);
        if (p === undefined)
          this.options.onInvalid?.(raw ?? JSON.stringify(value), 'error response to an unknown request id');
        else p.reject(new RemoteError(msg.error.code, msg.error.message, msg.error.data));
        return;
      }
      case 'notification':
        this.onNotification(value as JsonRpcNotification);
        return;
      case 'request':
        this.onRequest(value as JsonRpcRequest);
        return;
      default:
        this.options.onInvalid?.(raw ?? JSON.stringify(value), 'not a JSON-RPC 2.0 message');
    }
  }

  /** Rejects every pending request with `err`; later requests reject at once. Aborts incoming handlers. */
  close(err: unknown): void {
    if (this.closedWith === undefined) this.closedWith = err;
    this.failPending(err);
    for (const c of this.incoming.values()) c.abort(err);
    this.incoming.clear();
  }

  /** Rejects every pending request with `err` but keeps the peer usable (e.g. a restarted child). */
  failPending(err: unknown): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    this.progress.clear();
    for (const p of entries) {
      p.cleanup?.();
      p.reject(err);
    }
  }

  /** Makes a closed peer usable again (after a transport reconnect). */
  reopen(): void {
    this.closedWith = undefined;
  }

  private settle(id: RequestId): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    this.pending.delete(id);
    p.cleanup?.();
    if (p.progressToken !== undefined) this.progress.delete(p.progressToken);
    return p;
  }

  private onNotification(n: JsonRpcNotification): void {
    if (n.method === 'notifications/progress') {
      const token = n.params?.['progressToken'];
      const handler = typeof token === 'string' ? this.progress.get(token) : undefined;
      if (handler !== undefined) {
        const params = n.params as { progress?: unknown; total?: unknown; message?: unknown };
        if (typeof params.progress !== 'number') return;
        const update: ProgressUpdate = { progress: params.progress };
        if (typeof params.total === 'number') update.total = params.total;
        if (typeof params.message === 'string') update.message = params.message;
        handler(update);
        return;
      }
    } else if (n.method === 'notifications/cancelled') {
      const id = n.params?.['requestId'];
      if (typeof id === 'string' || typeof id === 'number') {
        const c = this.incoming.get(id);
        if (c !== undefined) {
          this.incoming.delete(id);
          c.abort(new GatewayError('TG_CANCELLED', 'cancelled by the peer'));
        }
        return;
      }
    }
    this.options.onNotification?.(n);
  }

  private onRequest(req: JsonRpcRequest): void {
    const handler = this.options.onRequest;
    if (handler === undefined) {
      this.options.send(errorResponse(req.id, -32601, `Method not found: ${req.method}`));
      return;
    }
    const controller = new AbortController();
    this.incoming.set(req.id, controller);
    handler(req, { signal: controller.signal }).then(
      (result) => {
        if (this.incoming.get(req.id) !== controller) return; // cancelled: no response
        this.incoming.delete(req.id);
        this.options.send({ jsonrpc: '2.0', id: req.id, result });
      },
      (err: unknown) => {
        if (this.incoming.get(req.id) !== controller) return;
        this.incoming.delete(req.id);
        const code = err instanceof RemoteError ? err.code : -32603;
        const message = err instanceof Error ? err.message : 'Internal error';
        this.options.send(errorResponse(req.id, code, message, err instanceof RemoteError ? err.data : undefined));
      },
    );
  }
}

function reasonText(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error ? r.message : 'cancelled';
}
