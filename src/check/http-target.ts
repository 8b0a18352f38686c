import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import type { LookupFunction } from 'node:net';
import { RemoteError } from '../jsonrpc/peer.js';
import { classifyMessage, type JsonObject, type JsonRpcMessage } from '../jsonrpc/types.js';
import {
  DEFAULT_CALL_TIMEOUT_MS,
  MODERN_VERSION,
  RequestTimeoutError,
  TargetError,
  identityFromDiscover,
  identityFromInitialize,
  initializeParams,
  isPlainObject,
  withEnvelope,
  type Era,
  type McpTarget,
  type RpcOptions,
  type ServerIdentity,
} from './target.js';

/** One HTTP exchange as the checker saw it. */
export interface HttpExchange {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** JSON-RPC messages in the body (a JSON body, or the `data:` of SSE events). */
  messages: JsonRpcMessage[];
}

/** Options of one raw POST/GET/DELETE. */
export interface RawHttpOptions {
  method?: 'POST' | 'GET' | 'DELETE';
  headers?: Record<string, string | undefined>;
  /** Replaces the target URL (e.g. to add a query string). */
  url?: string;
  timeoutMs?: number;
  /** Leave out the user's credentials (--bearer/--header) for this exchange. */
  anonymous?: boolean;
  /** Stop reading an SSE body once this returns true for a message (the rest is discarded). */
  until?: (m: JsonRpcMessage) => boolean;
  onMessage?: (m: JsonRpcMessage) => void;
  signal?: AbortSignal;
}

/** Options of `HttpTarget.connect`. */
export interface HttpConnectOptions {
  url: string;
  /** Extra headers sent on every request (auth). Names are lower-cased. */
  headers: Record<string, string>;
  era: Era | 'auto';
  timeoutMs: number;
  /** Host → IP overrides (like curl --resolve), so a public name can be checked against a local address. */
  resolve?: Record<string, string>;
}

const MAX_BODY_CHARS = 4 * 1024 * 1024;

/** An HTTP status the checker did not expect where a JSON-RPC answer was needed. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(readonly exchange: HttpExchange) {
    super(`HTTP ${exchange.status}${exchange.body.length > 0 ? `: ${exchange.body.slice(0, 200)}` : ''}`);
  }
}

/** A Streamable HTTP MCP endpoint (either era), with raw access for the transport and auth checks. */
export class HttpTarget implements McpTarget {
  readonly kind = 'http' as const;
  era: Era = 'legacy';
  identity: ServerIdentity = { protocolVersion: 'unknown', capabilities: {} };
  sessionId: string | undefined;
  /** Every JSON-RPC message received (for the leakage scan). */
  readonly received: string[] = [];
  private nextId = 1;
  private reachable = true;
  private receivedChars = 0;
  private readonly dispatcher: Dispatcher | undefined;

  private constructor(readonly options: HttpConnectOptions) {
    const map = options.resolve ?? {};
    if (Object.keys(map).length > 0) {
      const lookup: LookupFunction = (hostname, opts, cb) => {
        const ip = map[hostname.toLowerCase()];
        if (ip === undefined) return cb(new Error(`--resolve has no entry for ${hostname}`), '', 4);
        const family = ip.includes(':') ? 6 : 4;
        if ((opts as { all?: boolean }).all === true) {
          (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
            { address: ip, family },
          ]);
        } else cb(null, ip, family);
      };
      this.dispatcher = new Agent({ connect: { lookup } });
    }
  }

  get url(): string {
    return this.options.url;
  }

  /** Connects: probes 2026-07-28 with `server/discover`, falls back to a legacy `initialize` session. */
  static async connect(options: HttpConnectOptions): Promise<HttpTarget> {
    const target = new HttpTarget(options);
    try {
      if (options.era !== 'legacy') {
        target.era = 'modern';
        const ex = await target.post(target.envelope('server/discover', {}), {
          headers: target.eraHeaders('server/discover', {}),
        });
        if (ex.status === 401 || ex.status === 403) throw new HttpStatusError(ex);
        const result = findResult(ex.messages);
        const modern = result === undefined ? undefined : identityFromDiscover(result);
        if (modern !== undefined) {
          target.identity = modern;
          return target;
        }
        if (options.era === 'modern')
          throw new TargetError(`server/discover was not answered as 2026-07-28 (HTTP ${ex.status})`);
      }
      target.era = 'legacy';
      const ex = await target.post(target.envelope('initialize', initializeParams()), {
        headers: { 'mcp-protocol-version': undefined },
      });
      if (ex.status >= 400) throw new HttpStatusError(ex);
      const result = findResult(ex.messages);
      if (result === undefined) throw new TargetError(`initialize got HTTP ${ex.status} without a JSON-RPC result`);
      target.identity = identityFromInitialize(result);
      target.sessionId = ex.headers['mcp-session-id'];
      await target.notify('notifications/initialized');
      return target;
    } catch (err) {
      await target.close();
      if (err instanceof TargetError) throw err;
      if (err instanceof HttpStatusError && (err.exchange.status === 401 || err.exchange.status === 403)) {
        throw new TargetError(
          `the server answered HTTP ${err.exchange.status}: it requires credentials (pass --bearer TOKEN or --header "Name: value")`,
        );
      }
      throw new TargetError(`cannot connect to ${options.url}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Builds a JSON-RPC request with a fresh id and the era's envelope. */
  envelope(method: string, params: JsonObject | undefined): JsonObject {
    const p = withEnvelope(this.era, params);
    const msg: JsonObject = { jsonrpc: '2.0', id: this.nextId++, method };
    if (p !== undefined) msg['params'] = p;
    return msg;
  }

  /** The headers an era requires for `method` (session id and version for legacy; Mcp-* for modern). */
  eraHeaders(method: string, params: JsonObject | undefined): Record<string, string> {
    if (this.era === 'legacy') {
      const h: Record<string, string> = { 'mcp-protocol-version': this.identity.protocolVersion };
      if (this.sessionId !== undefined) h['mcp-session-id'] = this.sessionId;
      return h;
    }
    const h: Record<string, string> = { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': method };
    const name = params?.['name'] ?? params?.['uri'];
    if (typeof name === 'string' && ['tools/call', 'prompts/get', 'resources/read'].includes(method)) {
      h['mcp-name'] = headerSafe(name);
    }
    return h;
  }

  /** Sends a request; resolves with its result or rejects with RemoteError / RequestTimeoutError / HttpStatusError. */
  async request(method: string, params?: JsonObject, options: RpcOptions = {}): Promise<JsonObject> {
    const msg = this.envelope(method, params);
    const id = msg['id'] as number;
    const ex = await this.post(msg, {
      headers: { ...this.eraHeaders(method, params), ...(options.headers ?? {}) },
      timeoutMs: options.timeoutMs ?? this.options.timeoutMs,
      until: (m) => isPlainObject(m) && (m as { id?: unknown }).id === id,
      onMessage: (m) => {
        if (options.onProgress === undefined || !isPlainObject(m) || m['method'] !== 'notifications/progress') return;
        const p = m['params'];
        if (isPlainObject(p) && typeof p['progress'] === 'number') {
          const update: { progress: number; total?: number } = { progress: p['progress'] };
          if (typeof p['total'] === 'number') update.total = p['total'];
          options.onProgress(update);
        }
      },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const response = ex.messages.find(
      (m) => (m as { id?: unknown }).id === id || ((m as { id?: unknown }).id === null && 'error' in m),
    );
    if (response !== undefined && 'error' in response) {
      const e = response.error;
      throw new RemoteError(e.code, e.message, e.data);
    }
    if (response !== undefined && 'result' in response) return response.result;
    throw new HttpStatusError(ex);
  }

  /** Sends a notification (expects 202). */
  async notify(method: string, params?: JsonObject): Promise<void> {
    const p = withEnvelope(this.era, params);
    const msg: JsonObject = { jsonrpc: '2.0', method };
    if (p !== undefined) msg['params'] = p;
    await this.post(msg, { headers: this.eraHeaders(method, params) });
  }

  /** One raw exchange with the endpoint: every header explicit, body as given (string bodies are sent verbatim). */
  async post(body: JsonObject | string | undefined, options: RawHttpOptions = {}): Promise<HttpExchange> {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const headers: Record<string, string> = {
      accept: 'application/json, text/event-stream',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.anonymous === true ? {} : this.options.headers),
    };
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      if (v === undefined) delete headers[k.toLowerCase()];
      else headers[k.toLowerCase()] = v;
    }
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (options.signal !== undefined) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    let res: Dispatcher.ResponseData;
    try {
      res = await undiciRequest(options.url ?? this.options.url, {
        method: options.method ?? 'POST',
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal,
        ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
      });
    } catch (err) {
      if (signal.aborted)
        throw new RequestTimeoutError(String(isPlainObject(body) ? body['method'] : 'HTTP request'), timeoutMs);
      this.reachable = false;
      throw err;
    }
    const resHeaders = flattenHeaders(res.headers);
    const contentType = resHeaders['content-type'] ?? '';
    const messages: JsonRpcMessage[] = [];
    let text = '';
    const accept = (raw: string): boolean => {
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        return false;
      }
      for (const m of Array.isArray(v) ? (v as unknown[]) : [v]) {
        if (classifyMessage(m) === 'invalid' && !isErrorWithNullId(m)) continue;
        const msg = m as JsonRpcMessage;
        messages.push(msg);
        this.record(JSON.stringify(msg));
        options.onMessage?.(msg);
        if (options.until?.(msg) === true) return true;
      }
      return false;
    };
    try {
      if (contentType.includes('text/event-stream')) {
        let buffer = '';
        let stop = false;
        for await (const chunk of res.body) {
          const s = (chunk as Buffer).toString('utf8');
          text += s;
          buffer += s.replace(/\r\n/g, '\n');
          let sep = buffer.indexOf('\n\n');
          while (sep !== -1 && !stop) {
            const event = buffer.slice(0, sep);
            buffer = buffer.slice(sep + 2);
            const data = event
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).replace(/^ /, ''))
              .join('\n');
            if (data.length > 0 && accept(data)) stop = true;
            sep = buffer.indexOf('\n\n');
          }
          if (stop || text.length > MAX_BODY_CHARS) break;
        }
      } else {
        text = await res.body.text();
        if (text.length > 0) accept(text);
      }
    } catch (err) {
      if (signal.aborted && messages.length === 0) {
        throw new RequestTimeoutError(String(isPlainObject(body) ? body['method'] : 'HTTP request'), timeoutMs);
      }
      if (!signal.aborted) throw err;
    } finally {
      res.body.destroy();
    }
    return { status: res.statusCode, headers: resHeaders, body: text.slice(0, MAX_BODY_CHARS), messages };
  }

  alive(): boolean {
    return this.reachable;
  }

  /** Ends the legacy session (DELETE, best effort) and closes the connection pool. */
  async close(): Promise<void> {
    if (this.sessionId !== undefined && this.reachable) {
      await this.post(undefined, {
        method: 'DELETE',
        headers: { 'mcp-session-id': this.sessionId, 'mcp-protocol-version': this.identity.protocolVersion },
        timeoutMs: 2000,
      }).catch(() => undefined);
      this.sessionId = undefined;
    }
    await this.dispatcher?.close().catch(() => undefined);
  }

  private record(raw: string): void {
    if (this.receivedChars > MAX_BODY_CHARS * 4) return;
    this.receivedChars += raw.length;
    this.received.push(raw);
  }
}

function findResult(messages: JsonRpcMessage[]): JsonObject | undefined {
  for (const m of messages) if ('result' in m && isPlainObject(m.result)) return m.result;
  return undefined;
}

function isErrorWithNullId(m: unknown): boolean {
  return isPlainObject(m) && m['id'] === null && isPlainObject(m['error']);
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Encodes a header value with the spec's base64 sentinel when it is not plain visible ASCII. */
export function headerSafe(value: string): string {
  if (/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value)) return value;
  return `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
