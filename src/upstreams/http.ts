import {
  Client,
  ProtocolError,
  SdkError,
  SdkHttpError,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import type { PriorDiscovery } from '@modelcontextprotocol/client';
import { z } from 'zod';
import type { HttpUpstreamConfig } from '../config/schema.js';
import { GatewayError, abortError, isGatewayError } from '../errors.js';
import { RemoteError } from '../jsonrpc/peer.js';
import { isObject, type JsonObject } from '../jsonrpc/types.js';
import { MODERN_VERSIONS } from '../protocol/versions.js';
import type { Logger } from '../telemetry/logger.js';
import type { UpstreamCallOptions, UpstreamInfo } from '../types.js';
import type { ClientIdentity } from './handshake.js';
import { SupervisedUpstream } from './supervised.js';

/** Options of an `HttpUpstream`. */
export interface HttpUpstreamOptions {
  name: string;
  config: HttpUpstreamConfig;
  logger: Logger;
  client: ClientIdentity;
}

// Results are relayed untouched: the SDK validates nothing beyond "an object", so a result that is valid MCP but
// stricter than the SDK's schema (or an outputSchema mismatch) still reaches the client as the upstream sent it.
const AnyResult = z.looseObject({});
const NO_SDK_TIMEOUT_MS = 24 * 60 * 60 * 1000; // the timeout policy owns call deadlines
/** How long an era verdict is trusted before the next (re)connect probes again. */
const VERDICT_TTL_MS = 60 * 60 * 1000;

/**
 * A remote MCP server over Streamable HTTP, either era, through the SDK v2 client: `auto` probes
 * `server/discover` once and caches the verdict (re-probed after an hour or when a modern verdict fails);
 * an expired legacy session is re-initialized transparently and the request re-sent once.
 */
export class HttpUpstream extends SupervisedUpstream {
  readonly kind = 'http' as const;
  private client: Client | undefined;
  private transport: StreamableHTTPClientTransport | undefined;
  private verdict: { prior: PriorDiscovery; at: number } | undefined;
  private reconnecting: Promise<void> | undefined;
  /** The last Retry-After an upstream sent with a 429/503 (the SDK's HTTP error does not carry headers). */
  private retryAfter: { ms: number; at: number } | undefined;
  /** fetch for the SDK transport: notes Retry-After on 429/503 answers, so the retry policy can honour it. */
  private readonly fetchNotingRetryAfter = async (
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> => {
    const response = await fetch(input, init);
    if (response.status === 429 || response.status === 503) {
      const ms = parseRetryAfter(response.headers.get('retry-after'));
      this.retryAfter = ms === undefined ? undefined : { ms, at: Date.now() };
    }
    return response;
  };

  constructor(private readonly options: HttpUpstreamOptions) {
    super(options.name, options.logger, options.config.reconnect, options.config.connectTimeoutMs);
  }

  protected startOnce(): Promise<void> {
    return this.connect();
  }

  /** The legacy session id at the upstream, if any (diagnostics and tests). */
  get sessionId(): string | undefined {
    return this.transport?.sessionId;
  }

  async call(method: string, params: JsonObject | undefined, options: UpstreamCallOptions = {}): Promise<JsonObject> {
    if (this.lifecycle.state !== 'up') await this.lifecycle.waitUntilUp(options.signal);
    const release = this.router.enter(options);
    try {
      try {
        return await this.send(method, params, options);
      } catch (err) {
        if (!this.isExpiredSession(err)) throw err;
        this.log.info('legacy session expired upstream; re-initializing');
        await this.reconnect();
        return await this.send(method, params, options);
      }
    } catch (err) {
      throw this.translate(err, options.signal);
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    this.lifecycle.stop();
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    try {
      // Legacy: DELETE the session so the upstream frees it; bounded so a dead upstream cannot hold shutdown.
      await Promise.race([this.transport?.terminateSession?.(), new Promise((r) => setTimeout(r, 2000).unref())]);
    } catch {
      // the session may already be gone
    }
    await client.close().catch(() => {});
  }

  destroy(): void {
    this.lifecycle.stop();
    const client = this.client;
    this.client = undefined;
    void client?.close().catch(() => {});
  }

  private async send(
    method: string,
    params: JsonObject | undefined,
    options: UpstreamCallOptions,
  ): Promise<JsonObject> {
    const client = this.client;
    if (client === undefined) throw this.lifecycle.unavailable();
    const requestOptions: {
      signal?: AbortSignal;
      onprogress?: (p: { progress: number; total?: number; message?: string }) => void;
      timeout: number;
    } = {
      timeout: NO_SDK_TIMEOUT_MS,
    };
    if (options.signal !== undefined) requestOptions.signal = options.signal;
    const onProgress = options.onProgress;
    if (onProgress !== undefined) {
      requestOptions.onprogress = (p) => {
        const u: { progress: number; total?: number; message?: string } = { progress: p.progress };
        if (p.total !== undefined) u.total = p.total;
        if (p.message !== undefined) u.message = p.message;
        onProgress(u);
      };
    }
    const request = params === undefined ? { method } : { method, params };
    return (await client.request(request as never, AnyResult, requestOptions)) as JsonObject;
  }

  private isExpiredSession(err: unknown): boolean {
    if (!(err instanceof SdkHttpError) || this._info?.era !== 'legacy') return false;
    const data = err.data as { status?: number; text?: string } | undefined;
    // Spec: a terminated session gets 404. Some servers (e.g. server-everything) answer 400 "No valid session ID".
    return data?.status === 404 || (data?.status === 400 && /session/i.test(data.text ?? ''));
  }

  private reconnect(): Promise<void> {
    this.reconnecting ??= (async () => {
      const old = this.client;
      this.client = undefined;
      void old?.close().catch(() => {});
      try {
        await this.connect();
      } finally {
        this.reconnecting = undefined;
      }
    })();
    return this.reconnecting;
  }

  /** Connects (or reconnects) and records the era; the lifecycle calls it for every start. */
  private async connect(): Promise<void> {
    const cfg = this.options.config;
    const versionNegotiation =
      cfg.era === 'auto'
        ? { mode: 'auto' as const }
        : cfg.era === 'modern'
          ? { mode: { pin: MODERN_VERSIONS[0] as string } }
          : undefined;
    const client = new Client(
      { name: this.options.client.name, version: this.options.client.version },
      versionNegotiation === undefined
        ? { capabilities: this.options.client.capabilities }
        : { capabilities: this.options.client.capabilities, versionNegotiation },
    );
    const transport = new StreamableHTTPClientTransport(new URL(cfg.url), {
      requestInit: { headers: cfg.headers },
      fetch: this.fetchNotingRetryAfter,
    });
    client.onerror = (err) => this.log.debug({ err: err.message }, 'upstream transport error');
    client.onclose = () => {
      if (this.client === client && !this.lifecycle.isStopped && this.lifecycle.state === 'up') {
        this.client = undefined;
        this._info = undefined;
        this.lifecycle.failed('connection closed');
      }
    };
    this.installHandlers(client);
    const fresh =
      this.verdict !== undefined && Date.now() - this.verdict.at < VERDICT_TTL_MS ? this.verdict.prior : undefined;
    const connectOptions = {
      signal: AbortSignal.timeout(cfg.connectTimeoutMs),
      ...(fresh === undefined ? {} : { prior: fresh }),
    };
    try {
      await client.connect(transport, connectOptions as never);
    } catch (err) {
      await client.close().catch(() => {});
      if (fresh?.kind === 'modern') this.verdict = undefined; // a stale modern verdict fails loudly: re-probe next time
      throw new GatewayError(
        'TG_UPSTREAM_UNAVAILABLE',
        `cannot connect to upstream ${this.name} at ${cfg.url}: ${describe(err)}`,
        { cause: err },
      );
    }
    const era = client.getProtocolEra() === 'modern' ? 'modern' : 'legacy';
    const discover = client.getDiscoverResult();
    if (fresh === undefined && cfg.era === 'auto') {
      this.verdict = { prior: discover ? { kind: 'modern', discover } : { kind: 'legacy' }, at: Date.now() };
    }
    const info: UpstreamInfo = {
      era,
      protocolVersion: client.getNegotiatedProtocolVersion() ?? 'unknown',
      capabilities: (client.getServerCapabilities() ?? {}) as JsonObject,
    };
    const serverInfo = client.getServerVersion();
    if (serverInfo !== undefined) info.serverInfo = serverInfo as unknown as JsonObject;
    const instructions = client.getInstructions();
    if (instructions !== undefined) info.instructions = instructions;
    this.client = client;
    this.transport = transport;
    this._info = info;
    this.log.info({ era, protocolVersion: info.protocolVersion, url: cfg.url }, 'upstream up');
    if (era === 'modern') void this.listen(client, info.capabilities);
  }

  private installHandlers(client: Client): void {
    const relay =
      (method: string) =>
      async (request: { params?: unknown }, ctx: { mcpReq: { id: string | number; signal: AbortSignal } }) => {
        const req = {
          jsonrpc: '2.0' as const,
          id: ctx.mcpReq.id,
          method,
          params: (request.params ?? {}) as JsonObject,
        };
        return (await this.router.request(req, ctx.mcpReq.signal, this.name)) as never;
      };
    const caps = this.options.client.capabilities;
    if (caps['sampling'] !== undefined)
      client.setRequestHandler('sampling/createMessage', relay('sampling/createMessage'));
    if (caps['elicitation'] !== undefined) client.setRequestHandler('elicitation/create', relay('elicitation/create'));
    client.fallbackNotificationHandler = async (n) => {
      const params = isObject(n.params) ? n.params : undefined;
      if (n.method === 'notifications/message') {
        if (this.router.notify(n.method, params)) return;
        this.log.info({ upstreamLog: params }, 'upstream log message');
      }
      this.listener?.onNotification(this, n.method, params);
    };
  }

  /** Modern upstreams send list_changed only on a subscriptions/listen stream. */
  private async listen(client: Client, capabilities: JsonObject): Promise<void> {
    const wants = (cap: string): boolean =>
      isObject(capabilities[cap]) && (capabilities[cap] as JsonObject)['listChanged'] === true;
    const filter: Record<string, boolean> = {};
    if (wants('tools')) filter['toolsListChanged'] = true;
    if (wants('prompts')) filter['promptsListChanged'] = true;
    if (wants('resources')) filter['resourcesListChanged'] = true;
    if (Object.keys(filter).length === 0) return;
    try {
      await client.listen(filter);
    } catch (err) {
      this.log.warn({ err: describe(err) }, 'upstream refused subscriptions/listen; list changes will not be seen');
    }
  }

  private translate(err: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return abortError(signal);
    if (isGatewayError(err) || err instanceof RemoteError) return err;
    if (err instanceof ProtocolError) return new RemoteError(err.code, err.message, err.data);
    if (err instanceof SdkHttpError) {
      const data = err.data as { status?: number; statusText?: string } | undefined;
      const status = data?.status;
      const retryable = status === 429 || (status !== undefined && status >= 500);
      // Noted by our fetch just before the SDK threw; a stale value (another request's, long ago) is ignored.
      const noted = this.retryAfter;
      const retryAfterMs =
        (status === 429 || status === 503) && noted !== undefined && Date.now() - noted.at < 1000
          ? noted.ms
          : undefined;
      return new GatewayError(
        retryable ? 'TG_UPSTREAM_TRANSPORT' : 'TG_UPSTREAM_PROTOCOL',
        `The upstream "${this.name}" answered HTTP ${String(status)}${data?.statusText ? ` ${data.statusText}` : ''}.`,
        { cause: err, data: { status }, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
      );
    }
    if (err instanceof SdkError) {
      return new GatewayError(
        'TG_UPSTREAM_TRANSPORT',
        `The connection to upstream "${this.name}" failed: ${err.message}`,
        { cause: err },
      );
    }
    if (err instanceof TypeError) {
      // fetch() failures (ECONNREFUSED, reset) surface as TypeError: the connection is gone.
      if (this.lifecycle.state === 'up') {
        this.client = undefined;
        this._info = undefined;
        this.lifecycle.failed(describe(err));
      }
      return new GatewayError(
        'TG_UPSTREAM_TRANSPORT',
        `The connection to upstream "${this.name}" failed: ${describe(err)}`,
        { cause: err },
      );
    }
    return err;
  }
}

const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** Retry-After (delta-seconds or an HTTP date, RFC 9110 §10.2.3) in milliseconds; undefined when absent or invalid. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v) - Date.now();
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
}
