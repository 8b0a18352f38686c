import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { ApiKeyService } from '../auth/api-keys.js';
import { createAuthenticator } from '../auth/authenticate.js';
import { createBearerVerifier } from '../auth/bearer.js';
import { createResourceMetadata, metadataUrlOf, type ResourceMetadata } from '../auth/resource-metadata.js';
import type { LoadedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Authenticate } from '../edge/mcp-http.js';
import { GatewayError } from '../errors.js';
import type { RequestContext } from '../protocol/dispatcher.js';
import { openStore } from '../state/open-store.js';
import type { Store } from '../state/store.js';
import type { Logger } from '../telemetry/logger.js';
import { AuditWriter } from './audit-writer.js';
import { PinRegistry } from './pins.js';
import { MemoryLimiterStore, parseRate, RedisLimiterStore, type LimiterStore, type Rate } from './rate-limiter.js';
import { createRedactor, type Redactor } from './redactor.js';
import { RuleSet } from './rules.js';
import { principalKey } from '../policies/rate-limit.js';

/** The shared security services the policy chain uses (one set per gateway). */
export interface SecurityServices {
  readonly redactor: Redactor;
  readonly rules: RuleSet;
  /** True when the rule set can deny anything (otherwise the authorize policy is left out of chains). */
  readonly rulesActive: boolean;
  readonly limiter: LimiterStore;
  /** `rateLimits.perPrincipal`, when set. */
  readonly perPrincipal: string | undefined;
  /** Present when audit is enabled. */
  readonly audit: AuditWriter | undefined;
  readonly pins: PinRegistry;
}

/** Options of `Security`. */
export interface SecurityOptions {
  loaded: LoadedConfig;
  logger: Logger;
  /** Registry the security metrics register in (the gateway's). */
  registry: Registry;
  /** Use this redactor (the one the logger was built with) instead of making one. */
  redactor?: Redactor;
}

/**
 * Everything issue 4 adds to a gateway, built once from config: authentication (bearer JWT/introspection, API
 * keys, anonymous policy), the RFC 9728 metadata document, the rule set, the limiter, the redactor, the audit
 * writer and the pin registry, plus the store they share. `start()` opens the store (before the catalog is
 * built); `stop()` flushes audit and last-used times and closes the store (after the drain).
 */
export class Security implements SecurityServices {
  readonly redactor: Redactor;
  readonly rules: RuleSet;
  readonly rulesActive: boolean;
  readonly limiter: LimiterStore;
  readonly perPrincipal: string | undefined;
  readonly audit: AuditWriter | undefined;
  readonly pins: PinRegistry;
  readonly apiKeys: ApiKeyService | undefined;
  readonly metadata: ResourceMetadata | undefined;
  readonly authenticate: Authenticate;
  private readonly requestRate: Rate | undefined;
  private readonly config: Config;
  private store: Store | undefined;
  private keyFlush: NodeJS.Timeout | undefined;

  constructor(private readonly options: SecurityOptions) {
    const cfg = (this.config = options.loaded.config);
    const auth = cfg.auth;
    const log = options.logger.child({ component: 'security' });
    if (auth.bearer !== undefined && auth.resource === undefined) {
      throw new GatewayError(
        'TG_CONFIG_INVALID',
        'auth.resource (the canonical URL of this MCP endpoint) is required with auth.bearer',
      );
    }
    const authEnabled = auth.bearer !== undefined || auth.apiKeys?.enabled === true;
    this.redactor = options.redactor ?? createRedactor({ config: cfg.redaction });
    const redactions = new Counter({
      name: 'toolgate_redactions_total',
      help: 'Values removed by the redactor, by kind and site (result, log, audit, error).',
      labelNames: ['kind', 'site'] as const,
      registers: [options.registry],
    });
    this.redactor.onRedact = (kind, site) => redactions.inc({ kind, site });
    const resource = auth.resource;
    this.rules = new RuleSet({
      config: cfg.authorization,
      authEnabled,
      ...(resource === undefined ? {} : { metadataUrl: metadataUrlOf(resource) }),
    });
    this.rulesActive =
      cfg.authorization.rules.length > 0 || (cfg.authorization.default ?? (authEnabled ? 'deny' : 'allow')) === 'deny';
    this.metadata = resource === undefined ? undefined : createResourceMetadata(auth, resource, this.rules.scopesNamed);

    const rl = cfg.rateLimits;
    if (rl.store === 'redis' && rl.redis === undefined)
      throw new GatewayError('TG_CONFIG_INVALID', 'rateLimits.redis.url is required with rateLimits.store: redis');
    this.limiter =
      rl.store === 'redis' && rl.redis !== undefined ? new RedisLimiterStore(rl.redis) : new MemoryLimiterStore();
    this.perPrincipal = rl.perPrincipal;
    this.requestRate = rl.requests === undefined ? undefined : parseRate(rl.requests);

    const writtenAudit = new Counter({
      name: 'toolgate_audit_records_total',
      help: 'Audit records written to the store.',
      registers: [options.registry],
    });
    const droppedAudit = new Counter({
      name: 'toolgate_audit_dropped_total',
      help: 'Audit records dropped because the queue was full (store unreachable for long).',
      registers: [options.registry],
    });
    this.audit = cfg.audit.enabled
      ? new AuditWriter({
          config: cfg.audit,
          redactor: this.redactor,
          logger: log,
          onWritten: (n) => writtenAudit.inc(n),
          onDropped: (n) => droppedAudit.inc(n),
        })
      : undefined;
    this.pins = new PinRegistry({ config: cfg.pinning, logger: log });
    this.apiKeys =
      auth.apiKeys?.enabled === true
        ? new ApiKeyService({ store: () => this.requireStore(), cacheTtlMs: auth.apiKeys.cacheTtlMs })
        : undefined;

    const authResults = new Counter({
      name: 'toolgate_auth_total',
      help: 'HTTP authentication outcomes by method (anonymous, bearer, api-key, rejected).',
      labelNames: ['result'] as const,
      registers: [options.registry],
    });
    // One child per outcome, made once: labelling costs a hash per request otherwise.
    const authChildren = {
      anonymous: authResults.labels('anonymous'),
      bearer: authResults.labels('bearer'),
      'api-key': authResults.labels('api-key'),
      stdio: authResults.labels('stdio'),
      rejected: authResults.labels('rejected'),
    };
    const bearer =
      auth.bearer === undefined || resource === undefined
        ? undefined
        : createBearerVerifier({ config: auth.bearer, resource });
    this.authenticate = createAuthenticator({
      config: auth,
      anonymous: auth.anonymous ?? (authEnabled ? 'off' : 'loopback'),
      ...(bearer === undefined ? {} : { bearer }),
      ...(this.apiKeys === undefined ? {} : { apiKeys: this.apiKeys }),
      ...(this.metadata === undefined ? {} : { metadataUrl: this.metadata.url }),
      ...(this.metadata?.document['scopes_supported'] === undefined
        ? {}
        : { scopes: this.metadata.document['scopes_supported'] as string[] }),
      onResult: (result) => authChildren[result].inc(),
    });
  }

  /** The opened store (after `start`). */
  get storeOrUndefined(): Store | undefined {
    return this.store;
  }

  /** HTTP routes to register (RFC 9728 metadata, root and path-suffixed forms). */
  routes(): { path: string; handler: (req: IncomingMessage, res: ServerResponse) => void }[] {
    const m = this.metadata;
    if (m === undefined) return [];
    return m.paths.map((path) => ({ path, handler: (req, res) => m.handle(req, res) }));
  }

  /** Opens the store, loads pins, starts the audit writer. Call before the catalog is first built. */
  async start(): Promise<void> {
    const loaded = this.options.loaded;
    this.store = await openStore(this.config.store, loaded.file, loaded.dir);
    await this.pins.load(this.store);
    this.audit?.attach(this.store);
    if (this.apiKeys !== undefined) {
      const keys = this.apiKeys;
      this.keyFlush = setInterval(() => void keys.flush().catch(() => {}), 30_000);
      this.keyFlush.unref();
    }
    this.options.logger.info(
      { store: this.store.kind, audit: this.audit !== undefined, limiter: this.limiter.kind },
      'security services ready',
    );
  }

  /**
   * Admission of a non-tool request (lists, reads, prompts) against `rateLimits.requests`: over the limit the
   * edge answers HTTP 429 with Retry-After.
   */
  readonly admitRequest = async (method: string, ctx: RequestContext): Promise<void> => {
    const rate = this.requestRate;
    if (rate === undefined) return;
    const r = await this.limiter.take([{ key: `r:${principalKey(ctx.principal)}`, rate, cost: 1 }]);
    if (!r.ok) {
      throw new GatewayError(
        'TG_TOO_MANY_REQUESTS',
        `Too many requests: at most ${rate.text} per caller (rateLimits.requests); retry after the Retry-After delay`,
        {
          retryAfterMs: r.retryAfterMs,
          data: { method },
        },
      );
    }
  };

  /** Flushes audit records and key usage, closes the limiter and the store. Call after in-flight calls drained. */
  async stop(): Promise<void> {
    clearInterval(this.keyFlush);
    await this.audit?.close();
    await this.apiKeys
      ?.flush()
      .catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message }, 'cannot store API key usage'));
    await this.pins.close();
    await this.limiter.close();
    await this.store?.close();
  }

  private requireStore(): Store {
    if (this.store === undefined)
      throw new GatewayError('TG_AUTH_UNAVAILABLE', 'the key store is not open yet', { retryAfterMs: 1000 });
    return this.store;
  }
}
