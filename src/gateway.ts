import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Catalog, type CatalogKind } from './catalog/catalog.js';
import type { LoadedConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { HttpEdge, sendJson } from './edge/http-server.js';
import { McpHttpHandler, type Authenticate } from './edge/mcp-http.js';
import { SessionStore } from './edge/sessions.js';
import { GatewayError } from './errors.js';
import type { PolicyServices } from './policies/index.js';
import { ResilienceRegistry } from './policies/resilience-registry.js';
import { Dispatcher, type Authorizer } from './protocol/dispatcher.js';
import { createRedactor, type Redactor } from './security/redactor.js';
import { Security } from './security/security.js';
import { NotificationHub } from './protocol/hub.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { GatewayMetrics } from './telemetry/metrics.js';
import type { JsonObject, Upstream, UpstreamListener, UpstreamState } from './types.js';
import type { DefinedTool } from './upstreams/define-tool.js';
import type { ClientIdentity } from './upstreams/handshake.js';
import { HttpUpstream } from './upstreams/http.js';
import { LocalUpstream } from './upstreams/local.js';
import { StdioUpstream } from './upstreams/stdio.js';
import { VERSION } from './version.js';

/** Options of `createGateway`. */
export interface GatewayOptions {
  /** A validated configuration (from `loadConfigFile`/`parseConfig`). */
  config: LoadedConfig;
  logger?: Logger;
  /** In-process tools for `local` upstreams, by upstream name (library use; overrides `module`). */
  tools?: Readonly<Record<string, readonly DefinedTool[]>>;
  /** Authentication of HTTP requests (default: everyone is anonymous). */
  authenticate?: Authenticate;
  /** Who may see and call what (default: everything). */
  authorizer?: Authorizer;
  /** Start the HTTP face (default true; false for the stdio face or library use). */
  http?: boolean;
  /** The redactor the given `logger` was built with (so logs, results and audit share one); made from config otherwise. */
  redactor?: Redactor;
}

const CHANGE_METHODS: Record<string, CatalogKind> = {
  'notifications/tools/list_changed': 'tools',
  'notifications/prompts/list_changed': 'prompts',
  'notifications/resources/list_changed': 'resources',
};

/**
 * A toolgate gateway: upstreams, the catalog with its policy chains, the dispatcher, and the HTTP face.
 * `start()` brings it up; `stop()` drains in-flight calls (bounded), then closes sessions and upstreams.
 */
export class Gateway {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics = new GatewayMetrics();
  readonly upstreams = new Map<string, Upstream>();
  readonly catalog: Catalog;
  readonly dispatcher: Dispatcher;
  readonly hub: NotificationHub;
  readonly sessions: SessionStore;
  readonly mcp: McpHttpHandler;
  readonly http: HttpEdge | undefined;
  /** Authentication, authorization rules, limits, redaction, audit and pinning (issue 4). */
  readonly security: Security;
  private address: AddressInfo | undefined;
  private readonly shutdown = new AbortController();
  private inflight = 0;
  private drainWaiters: Array<() => void> = [];
  private draining = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: GatewayOptions) {
    const loaded = options.config;
    this.config = loaded.config;
    const redactor = options.redactor ?? createRedactor({ config: loaded.config.redaction });
    this.logger =
      options.logger ??
      createLogger({
        level: loaded.config.log.level,
        ...(loaded.config.redaction.logs ? { redact: redactor.redactLine } : {}),
      });
    this.security = new Security({ loaded, logger: this.logger, registry: this.metrics.registry, redactor });
    const client: ClientIdentity = {
      name: 'toolgate',
      version: VERSION,
      // toolgate relays these to its own clients during the call that caused them
      capabilities: { sampling: {}, elicitation: {} },
    };
    for (const [name, up] of Object.entries(this.config.upstreams)) {
      if (!up.enabled) continue;
      const upstream = this.makeUpstream(name, up, loaded.dir, client);
      upstream.setListener(this.upstreamListener());
      this.upstreams.set(name, upstream);
    }
    const services: PolicyServices = {
      logger: this.logger,
      metrics: this.metrics,
      upstreams: this.upstreams,
      resilience: new ResilienceRegistry(this.logger, this.metrics),
      security: this.security,
    };
    this.catalog = new Catalog({
      config: this.config,
      upstreams: this.upstreams,
      services,
      logger: this.logger,
      admitTool: (upstream, def, name) => this.security.pins.admit(upstream, def, name),
    });
    this.hub = new NotificationHub(this.catalog, this.logger);
    this.dispatcher = new Dispatcher({
      catalog: this.catalog,
      upstreams: this.upstreams,
      serverInfo: { name: this.config.server.name, version: VERSION },
      ...(this.config.server.instructions === undefined ? {} : { instructions: this.config.server.instructions }),
      pageSize: this.config.pagination.pageSize,
      logger: this.logger,
      metrics: this.metrics,
      hub: this.hub,
      authorizer: options.authorizer ?? this.security.rules,
      admit: this.security.admitRequest,
      onCallStart: () => this.inflight++,
      onCallEnd: () => this.callEnded(),
    });
    this.sessions = new SessionStore({
      max: this.config.sessions.max,
      idleTimeoutMs: this.config.sessions.idleTimeoutMs,
      hub: this.hub,
      onCountChange: (n) => this.metrics.sessions.set({ kind: 'legacy' }, n),
    });
    this.mcp = new McpHttpHandler({
      dispatcher: this.dispatcher,
      hub: this.hub,
      sessions: this.sessions,
      logger: this.logger,
      metrics: this.metrics,
      maxBodyBytes: this.config.listen.maxBodyBytes,
      draining: () => this.draining,
      authenticate: options.authenticate ?? this.security.authenticate,
    });
    if (options.http !== false) {
      const l = this.config.listen;
      this.http = new HttpEdge({
        host: l.host,
        port: l.port,
        logger: this.logger,
        ...(l.allowedOrigins === undefined ? {} : { allowedOrigins: l.allowedOrigins }),
        ...(l.allowedHosts === undefined ? {} : { allowedHosts: l.allowedHosts }),
      });
      this.http.route(l.path, (req, res) => this.mcp.handle(req, res));
      this.http.route('/healthz', (req, res) => this.healthz(req, res), { guarded: false });
      for (const r of this.security.routes()) this.http.route(r.path, r.handler, { guarded: false });
      this.http.route('/readyz', (req, res) => this.readyz(req, res), { guarded: false });
      this.http.route('/metrics', (req, res) => this.metricsRoute(req, res), { guarded: false });
    }
  }

  /** The bound HTTP address, once started. */
  get url(): string | undefined {
    if (this.address === undefined) return undefined;
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address;
    return `http://${host}:${this.address.port}${this.config.listen.path}`;
  }

  /** Aborted (with the reason) when shutdown cancels the calls that did not drain in time. */
  get shutdownSignal(): AbortSignal {
    return this.shutdown.signal;
  }

  /** Calls in flight. */
  get inflightCalls(): number {
    return this.inflight;
  }

  /** True when every required upstream is up. */
  isReady(): boolean {
    if (this.draining) return false;
    for (const [name, u] of this.upstreams) {
      if (this.config.upstreams[name]?.required !== false && u.state !== 'up') return false;
    }
    return true;
  }

  /** Starts upstreams, builds the catalog, and opens the HTTP face. */
  async start(): Promise<void> {
    // The store opens first: API keys, audit and tool pins must be there before the catalog is built.
    await this.security.start();
    const started = await Promise.allSettled([...this.upstreams.values()].map((u) => u.start()));
    const names = [...this.upstreams.keys()];
    for (const [i, r] of started.entries()) {
      if (r.status === 'rejected') {
        const name = names[i] as string;
        const upstream = this.upstreams.get(name);
        // A local module that fails to load is a configuration error: do not start half-configured.
        if (upstream?.kind === 'local') throw r.reason;
        this.logger.warn(
          { upstream: name, err: (r.reason as Error).message },
          'upstream did not start; it will be retried in the background',
        );
      }
    }
    await Promise.all(names.map((n) => this.catalog.refresh(n)));
    this.security.pins.startPolling((approved) => {
      for (const name of approved) void this.catalog.refresh(name);
    });
    if (this.http !== undefined) {
      try {
        this.address = await this.http.listen();
      } catch (err) {
        await this.closeUpstreams();
        await this.security.stop();
        throw new GatewayError(
          'TG_STARTUP_FAILED',
          `cannot listen on ${this.config.listen.host}:${this.config.listen.port}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      this.logger.info(
        { url: this.url, upstreams: names, tools: this.catalog.listTools().length },
        'toolgate listening',
      );
    }
  }

  /**
   * Graceful stop: refuse new work, let in-flight calls finish within `shutdown.drainTimeoutMs`, cancel the rest
   * (each still gets an answer), end listen streams and sessions, then stop upstreams. Idempotent.
   */
  stop(options: { drainTimeoutMs?: number; upstreamGraceMs?: number } = {}): Promise<void> {
    this.stopping ??= this.doStop(
      options.drainTimeoutMs ?? this.config.shutdown.drainTimeoutMs,
      options.upstreamGraceMs,
    );
    return this.stopping;
  }

  private async doStop(drainTimeoutMs: number, upstreamGraceMs: number | undefined): Promise<void> {
    this.draining = true;
    const accepting = this.http?.stopAccepting();
    const drained = await this.waitForDrain(drainTimeoutMs);
    if (!drained) {
      this.logger.warn({ inflight: this.inflight }, 'drain deadline reached; cancelling remaining calls');
      const reason = new GatewayError(
        'TG_CANCELLED',
        'The gateway is shutting down and cancelled this call. Retry it.',
      );
      this.mcp.abortAll(reason);
      this.shutdown.abort(reason);
      await this.waitForDrain(2000);
    }
    this.mcp.closeListens();
    this.sessions.closeAll(new GatewayError('TG_SHUTTING_DOWN', 'The gateway is shutting down'));
    this.catalog.close();
    // After the drain (every call has been recorded), before upstreams close: write the audit tail, close the store.
    await this.security
      .stop()
      .catch((err: unknown) => this.logger.error({ err }, 'security services did not stop cleanly'));
    await this.closeUpstreams(upstreamGraceMs);
    this.http?.closeAll();
    await accepting;
    this.logger.info('toolgate stopped');
  }

  private async closeUpstreams(graceMs?: number): Promise<void> {
    await Promise.allSettled(
      [...this.upstreams.values()].map((u) => u.close(graceMs === undefined ? {} : { graceMs })),
    );
  }

  private waitForDrain(ms: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, ms);
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.drainWaiters.push(waiter);
    });
  }

  private callEnded(): void {
    this.inflight--;
    if (this.inflight === 0 && this.drainWaiters.length > 0) {
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of ws) w();
    }
  }

  private makeUpstream(name: string, up: Config['upstreams'][string], dir: string, client: ClientIdentity): Upstream {
    switch (up.kind) {
      case 'stdio':
        return new StdioUpstream({ name, config: up, dir, logger: this.logger, client });
      case 'http':
        return new HttpUpstream({ name, config: up, logger: this.logger, client });
      case 'local': {
        const tools = this.options.tools?.[name];
        return new LocalUpstream(tools === undefined ? { name, module: up.module, dir } : { name, tools });
      }
    }
  }

  private upstreamListener(): UpstreamListener {
    return {
      onStateChange: (upstream: Upstream, state: UpstreamState, reason?: string) => {
        this.metrics.upstreamUp.set({ upstream: upstream.name, kind: upstream.kind }, state === 'up' ? 1 : 0);
        if (state === 'restarting') this.metrics.upstreamRestarts.inc({ upstream: upstream.name });
        this.logger.info({ upstream: upstream.name, state, reason }, 'upstream state');
        if (state === 'up' || state === 'down' || state === 'stopped') {
          if (!this.draining) void this.catalog.refresh(upstream.name);
        }
      },
      onNotification: (upstream: Upstream, method: string, params: JsonObject | undefined) => {
        const kind = CHANGE_METHODS[method];
        if (kind !== undefined) this.catalog.scheduleRefresh(upstream.name, kind);
        else if (method === 'notifications/resources/updated') this.hub.resourceUpdated(params);
      },
    };
  }

  private healthz(_req: IncomingMessage, res: ServerResponse): void {
    sendJson(res, 200, { status: 'ok', version: VERSION });
  }

  private readyz(_req: IncomingMessage, res: ServerResponse): void {
    const upstreams: Record<string, { state: UpstreamState; required: boolean }> = {};
    for (const [name, u] of this.upstreams)
      upstreams[name] = { state: u.state, required: this.config.upstreams[name]?.required !== false };
    const ready = this.isReady();
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : this.draining ? 'draining' : 'not ready', upstreams });
  }

  private async metricsRoute(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await this.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
    res.end(text);
  }
}

/** Creates a gateway from a loaded configuration (not started). */
export function createGateway(options: GatewayOptions): Gateway {
  return new Gateway(options);
}
