import { randomUUID } from 'node:crypto';
import type { CatalogKind } from '../catalog/catalog.js';
import { GatewayError } from '../errors.js';
import { JsonRpcPeer } from '../jsonrpc/peer.js';
import type { JsonObject, JsonRpcMessage, RequestId } from '../jsonrpc/types.js';
import type { ClientSession, LogLevel } from '../protocol/dispatcher.js';
import { listChangedMethod, type NotificationHub, type Subscriber } from '../protocol/hub.js';
import type { Principal } from '../types.js';
import type { ResponseChannel } from './channel.js';

/** One legacy-era (≤2025-11-25) client session: created by `initialize`, named by `Mcp-Session-Id`. */
export class LegacySession implements ClientSession, Subscriber {
  readonly id = randomUUID();
  logLevel?: LogLevel;
  readonly subscriptions = new Set<string>();
  lastActive = Date.now();
  initialized = false;
  /** Requests in flight, by the client's JSON-RPC id (for notifications/cancelled). */
  readonly inflight = new Map<RequestId, AbortController>();
  /** The open GET stream, where unsolicited notifications go. */
  stream: ResponseChannel | undefined;
  /** Sends server→client requests (relayed sampling, elicitation) and matches the client's responses. */
  readonly peer: JsonRpcPeer;
  private closed = false;

  constructor(
    readonly protocolVersion: string,
    readonly clientCapabilities: JsonObject,
    readonly principal: Principal,
    private readonly hub: NotificationHub,
  ) {
    this.peer = new JsonRpcPeer({
      // Requests normally go on the POST stream of the call that caused them (`via`); this is the fallback.
      send: (m: JsonRpcMessage) => void this.stream?.push(m),
      tokenPrefix: `tg-s`,
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Delivers an unsolicited notification on the GET stream, if one is open. */
  deliver(method: string, params?: JsonObject): void {
    this.stream?.push(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
  }

  listChanged(kind: CatalogKind): void {
    if (this.initialized) this.deliver(listChangedMethod(kind));
  }

  resourceUpdated(uri: string, params: JsonObject): void {
    if (this.subscriptions.has(uri)) this.deliver('notifications/resources/updated', params);
  }

  /** Ends the session: in-flight requests are cancelled, the GET stream closed, subscriptions released. */
  close(reason: GatewayError): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.inflight.values()) c.abort(reason);
    this.inflight.clear();
    this.stream?.end();
    this.stream = undefined;
    this.peer.close(reason);
    for (const uri of this.subscriptions) void this.hub.release(uri);
    this.subscriptions.clear();
  }
}

/** Options of the `SessionStore`. */
export interface SessionStoreOptions {
  max: number;
  idleTimeoutMs: number;
  hub: NotificationHub;
  onCountChange?: (count: number) => void;
}

/** Legacy sessions, bounded in number and idle time, each always closed (never just forgotten). */
export class SessionStore {
  private readonly sessions = new Map<string, LegacySession>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly unsubscribe = new Map<string, () => void>();

  constructor(private readonly options: SessionStoreOptions) {
    const every = Math.max(1000, Math.min(60_000, Math.floor(options.idleTimeoutMs / 2)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Creates a session; fails with TG_SESSION_LIMIT when full. */
  create(protocolVersion: string, clientCapabilities: JsonObject, principal: Principal): LegacySession {
    if (this.sessions.size >= this.options.max) {
      this.sweep();
      if (this.sessions.size >= this.options.max) {
        throw new GatewayError('TG_SESSION_LIMIT', `Too many sessions (limit ${this.options.max}); try again later`, {
          retryAfterMs: 5000,
        });
      }
    }
    const session = new LegacySession(protocolVersion, clientCapabilities, principal, this.options.hub);
    this.sessions.set(session.id, session);
    this.unsubscribe.set(session.id, this.options.hub.add(session));
    this.options.onCountChange?.(this.sessions.size);
    return session;
  }

  get(id: string): LegacySession | undefined {
    return this.sessions.get(id);
  }

  /** Closes and removes a session. */
  delete(id: string, reason: GatewayError): boolean {
    const s = this.sessions.get(id);
    if (s === undefined) return false;
    this.sessions.delete(id);
    this.unsubscribe.get(id)?.();
    this.unsubscribe.delete(id);
    s.close(reason);
    this.options.onCountChange?.(this.sessions.size);
    return true;
  }

  /** Closes sessions idle longer than the timeout (never one with requests in flight or an open stream writer). */
  sweep(now = Date.now()): void {
    for (const [id, s] of this.sessions) {
      if (s.inflight.size === 0 && now - s.lastActive > this.options.idleTimeoutMs) {
        this.delete(id, new GatewayError('TG_SESSION_NOT_FOUND', 'Session expired after being idle'));
      }
    }
  }

  /** Closes every session (shutdown). */
  closeAll(reason: GatewayError): void {
    clearInterval(this.sweeper);
    for (const id of [...this.sessions.keys()]) this.delete(id, reason);
  }
}
