import { z } from 'zod';

/**
 * Configuration of the security features (issue 4): authentication, authorization rules, rate limits,
 * redaction, audit, the state store and tool pinning. `schema.ts` mounts the top-level sections;
 * `policy-settings.ts` mounts the per-tool keys (`rateLimit`, `redact`). Every key is described.
 */

/** `N/unit` or `N/<k>unit` — e.g. `60/min`, `10/s`, `1000/h`, `5/10s`. */
export const RATE_PATTERN = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|sec|second|m|min|minute|h|hour|d|day)\s*$/;

const RateSchema = z
  .string()
  .regex(RATE_PATTERN, 'a rate like "60/min", "10/s", "1000/h" or "5/10s"')
  .refine((s) => Number(RATE_PATTERN.exec(s)?.[1]) > 0, 'the count must be positive');

/** Per-tool rate limit settings (accepted at `defaults`, `upstreams.<name>.policies` and `tools.<glob>`). */
export const RateLimitSettingsSchema = z
  .strictObject({
    perCaller: RateSchema.optional().describe(
      'Token bucket per principal × tool, e.g. "10/s": each caller may call this tool this often (bursts up to the count).',
    ),
    perTool: RateSchema.optional().describe(
      'Token bucket per tool shared by every caller, e.g. "100/s" (protects the upstream).',
    ),
    cost: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .optional()
      .describe(
        'Tokens one call takes from every bucket it passes, including the principal-wide `rateLimits.perPrincipal` bucket (default 1; 0 = free).',
      ),
  })
  .describe('Rate limits of tool calls. A limited call gets an isError result telling the model when it may retry.');

/** Per-tool redaction settings. */
export const RedactSettingsSchema = z
  .strictObject({
    mode: z
      .enum(['mask', 'hash', 'block', 'off'])
      .optional()
      .describe(
        "What happens to secrets and PII found in this tool's results: mask replaces them with [REDACTED:kind]; hash with [kind:hmac-prefix] (equal values stay correlatable); block refuses the whole result (TG_OUTPUT_BLOCKED); off passes results untouched (default mask).",
      ),
    screenErrors: z
      .boolean()
      .optional()
      .describe(
        'Mask stack traces, absolute paths and internal addresses in upstream error text before the client sees it (default true; the full text is logged with the correlation id).',
      ),
  })
  .describe('Redaction of tool results and error text.');

const ANONYMOUS_MODES = ['loopback', 'any', 'off'] as const;

const BearerSchema = z
  .strictObject({
    issuer: z
      .string()
      .min(1)
      .describe('Expected `iss` of access tokens (exact match), e.g. https://idp.example.com/realms/main.'),
    audience: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe(
        'Accepted `aud` values (RFC 8707: the token must be minted for this gateway). Default: `auth.resource`.',
      ),
    jwksUri: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'JWKS URL of the issuer. Keys are fetched on demand, cached, and re-fetched when a token names an unknown `kid`.',
      ),
    algorithms: z
      .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
      .min(1)
      .default(['RS256', 'PS256', 'ES256', 'EdDSA'])
      .describe('Signature algorithms accepted (asymmetric only: `none` and HMAC are always refused).'),
    clockSkewSec: z.number().int().min(0).max(300).default(30).describe('Tolerance for `exp`/`nbf`/`iat`, in seconds.'),
    jwksTimeoutMs: z.number().int().positive().default(5000).describe('Time limit of one JWKS fetch.'),
    jwksCacheMaxAgeMs: z
      .number()
      .int()
      .positive()
      .default(600_000)
      .describe('How long fetched keys are trusted before a refresh.'),
    jwksCooldownMs: z
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe('Least time between two JWKS fetches caused by unknown `kid`s (protects the IdP from token spraying).'),
    scopeClaim: z
      .string()
      .default('scope')
      .describe('Claim holding scopes: a space-separated string (`scope`) or an array (`scp`).'),
    rolesClaim: z
      .string()
      .default('roles')
      .describe(
        'Claim holding roles (array or space-separated string), matched by `authorization.rules[].allow.roles`.',
      ),
    tenantClaim: z.string().optional().describe('Claim naming the tenant of the caller (e.g. `tid`, `org_id`).'),
    introspection: z
      .strictObject({
        url: z
          .url({ protocol: /^https?$/ })
          .describe('RFC 7662 introspection endpoint, used for tokens that are not JWTs (opaque tokens).'),
        clientId: z.string().min(1).describe('Client id the gateway authenticates with at the endpoint (HTTP Basic).'),
        clientSecret: z.string().min(1).describe('Client secret — write it as ${VAR}.'),
        cacheTtlMs: z
          .number()
          .int()
          .min(0)
          .max(300_000)
          .default(30_000)
          .describe('How long an introspection answer is reused (bounded by the token `exp`).'),
        timeoutMs: z.number().int().positive().default(5000).describe('Time limit of one introspection request.'),
      })
      .optional()
      .describe('Opaque-token introspection (optional).'),
  })
  .describe('OAuth 2.1 bearer tokens (the gateway is a resource server).');

/** `auth`: who may call the HTTP face. */
export const AuthSchema = z
  .strictObject({
    resource: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        "Canonical URL of this gateway's MCP endpoint (RFC 8707 resource identifier), e.g. https://tools.example.com/mcp. Required with `bearer`; it is the default token audience and appears in the protected resource metadata.",
      ),
    bearer: BearerSchema.optional(),
    authorizationServers: z
      .array(z.url())
      .optional()
      .describe(
        'Authorization servers listed in the protected resource metadata (RFC 9728). Default: `[bearer.issuer]`.',
      ),
    scopesSupported: z
      .array(z.string().min(1))
      .optional()
      .describe(
        '`scopes_supported` of the protected resource metadata: the minimal scopes for basic use. Default: every scope named in authorization rules.',
      ),
    apiKeys: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe('Accept API keys made with `toolgate keys create` (stored hashed in the store).'),
        header: z
          .string()
          .min(1)
          .default('x-api-key')
          .describe('Header carrying the key (a key is also accepted as `Authorization: Bearer tgk_…`).'),
        cacheTtlMs: z
          .number()
          .int()
          .min(0)
          .max(300_000)
          .default(30_000)
          .describe(
            'How long a verified key is trusted without re-reading the store (a revocation takes effect within this time).',
          ),
      })
      .optional()
      .describe('API keys for machine clients.'),
    anonymous: z
      .enum(ANONYMOUS_MODES)
      .optional()
      .describe(
        'Requests without a credential: loopback = allowed only from 127.0.0.0/8 and ::1; any = from anywhere (authorization rules still apply); off = always 401 with a challenge. Default: loopback when no credential kind is configured, off when bearer or API keys are.',
      ),
  })
  .prefault({})
  .describe('Authentication of the HTTP face. The stdio face serves the local user who started it and needs none.');

const PrincipalConditionSchema = z
  .strictObject({
    scopes: z.array(z.string().min(1)).optional().describe('Every one of these scopes is needed.'),
    roles: z.array(z.string().min(1)).optional().describe('Any one of these roles is enough.'),
    subjects: z
      .array(z.string().min(1))
      .optional()
      .describe('Any one of these subjects (`sub`, or `key:<id>` for API keys).'),
    claims: z
      .record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]),
      )
      .optional()
      .describe(
        'Claim values: every listed claim must equal the value (or one of the values, or contain it when the claim is an array).',
      ),
    authMethods: z
      .array(z.enum(['anonymous', 'bearer', 'api-key', 'stdio']))
      .optional()
      .describe('Any one of these authentication methods.'),
  })
  .describe('Conditions on the principal; all listed conditions must hold. An empty condition matches everyone.');

const RuleSchema = z
  .strictObject({
    tools: z
      .array(z.string().min(1))
      .optional()
      .describe('Globs on namespaced tool names (`*` any run of characters, `?` one).'),
    prompts: z.array(z.string().min(1)).optional().describe('Globs on namespaced prompt names.'),
    resources: z.array(z.string().min(1)).optional().describe('Globs on resource URIs and URI templates.'),
    effect: z.enum(['allow', 'deny']).default('allow').describe('A matching deny rule wins over every allow rule.'),
    when: PrincipalConditionSchema.prefault({}),
  })
  .describe('One authorization rule.');

/** `authorization`: one rule set deciding both listing and calling. */
export const AuthorizationSchema = z
  .strictObject({
    default: z
      .enum(['allow', 'deny'])
      .optional()
      .describe(
        'Decision for an item no rule matches. Default: deny when bearer or API-key auth is configured, allow otherwise.',
      ),
    explainDenials: z
      .boolean()
      .default(true)
      .describe(
        'A call to a tool the caller could use with more scopes gets an isError result naming the missing scopes (TG_DENIED). Tools denied for any other reason look unknown. Lists never show either.',
      ),
    rules: z
      .array(RuleSchema)
      .default([])
      .describe(
        'Rules, in any order: an item is allowed when an allow rule matches it and the caller, and no deny rule does.',
      ),
  })
  .prefault({})
  .describe(
    'Who may see and use which tools, prompts and resources. The same decision filters lists and guards calls.',
  );

/** `rateLimits`: principal-wide limits and the limiter store. */
export const RateLimitsSchema = z
  .strictObject({
    perPrincipal: RateSchema.optional().describe(
      "Token bucket per principal across every tool call (each call takes its tool's `rateLimit.cost`).",
    ),
    requests: RateSchema.optional().describe(
      'Token bucket per principal for non-tool MCP requests (lists, reads, prompts); over it → HTTP 429 with Retry-After.',
    ),
    store: z
      .enum(['memory', 'redis'])
      .default('memory')
      .describe('Where buckets live: memory (one process) or redis (shared by every gateway instance).'),
    redis: z
      .strictObject({
        url: z.string().min(1).describe('Redis URL, e.g. redis://127.0.0.1:6379 (write credentials as ${VAR}).'),
        prefix: z.string().default('toolgate:rl:').describe('Key prefix of the buckets.'),
        timeoutMs: z
          .number()
          .int()
          .positive()
          .default(1000)
          .describe('Time limit of one limiter round trip; on failure the call is refused (fail closed).'),
      })
      .optional()
      .describe('Redis connection (with store: redis).'),
  })
  .prefault({})
  .describe('Rate limits beyond the per-tool `rateLimit` policy settings.');

/** `redaction`: the one redactor applied to results, logs and audit records. */
export const RedactionSchema = z
  .strictObject({
    secrets: z
      .boolean()
      .default(true)
      .describe(
        'Detect secret formats: cloud keys, API tokens, JWTs, private keys, password=/secret= assignments, high-entropy values of key-like fields.',
      ),
    pii: z
      .boolean()
      .default(true)
      .describe('Detect PII: emails, phone numbers, card numbers (Luhn), IBANs (checksum), US SSNs.'),
    disable: z
      .array(z.string())
      .default([])
      .describe('Kinds to leave alone (e.g. ["email"]). `toolgate` names the kinds in docs/security.md.'),
    secretEnv: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/))
      .default([])
      .describe('Environment variables whose values are secrets: any occurrence of their value is redacted.'),
    hashKey: z
      .string()
      .optional()
      .describe(
        'HMAC key of `hash` mode (write it as ${VAR}); keeps hashes stable across restarts. Default: random per process.',
      ),
    logs: z.boolean().default(true).describe('Apply the redactor to every log line.'),
  })
  .prefault({})
  .describe('The redactor: one configuration for tool results, logs and audit records.');

/** `store`: where API keys, audit records and tool pins live. */
export const StoreSchema = z
  .strictObject({
    kind: z
      .enum(['sqlite', 'postgres', 'memory'])
      .default('sqlite')
      .describe(
        'sqlite: a file next to the config (pure WASM, no compiler); postgres: shared by many instances; memory: nothing survives a restart, audit keeps the newest 100 000 records (the default when the config is not a file).',
      ),
    path: z
      .string()
      .optional()
      .describe('SQLite file (relative to the config file). Default: toolgate.db next to the config.'),
    url: z.string().optional().describe('PostgreSQL URL (kind: postgres), e.g. ${PG_URL}.'),
    worker: z
      .boolean()
      .default(false)
      .describe(
        'SQLite: run the (synchronous, WebAssembly) engine in a worker thread. Default false: on the event loop it costs the least CPU per audit record (a batch is one transaction written 250 rows per event-loop turn, about 2 ms each, with one disk sync at the commit; a lock held by another process is waited for at most 50 ms, then the write is retried later). true: writes and lock waits never block request handling, at a higher CPU cost per record.',
      ),
  })
  .prefault({})
  .describe('The state store.');

/** `audit`: the record of every call. */
export const AuditSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Record every tool call (including denied and limited ones).'),
    retentionDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(30)
      .describe('Records older than this are deleted (checked at start and hourly).'),
    flushIntervalMs: z
      .number()
      .int()
      .min(10)
      .max(60_000)
      .default(1000)
      .describe('Records are written in batches at least this often.'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(5000)
      .describe(
        'A batch is written early when this many records wait. Each batch is one transaction, so one disk sync: at high call rates a larger batch costs less per record.',
      ),
    maxQueue: z
      .number()
      .int()
      .min(100)
      .default(100_000)
      .describe(
        'Records held while the store is unreachable; beyond this, new records are dropped and counted (toolgate_audit_dropped_total).',
      ),
    maxArgumentBytes: z
      .number()
      .int()
      .min(0)
      .default(4096)
      .describe('Redacted arguments longer than this are truncated in the record (the hash covers them whole).'),
  })
  .prefault({})
  .describe('Audit log, written asynchronously to the store.');

/** `pinning`: tool fingerprints and the poisoning screen. */
export const PinningSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe("Record each upstream tool's fingerprint (name, description, schemas, annotations) on first sight."),
    onChange: z
      .enum(['accept', 'withhold'])
      .default('accept')
      .describe(
        'When a pinned tool changes upstream: accept (log and re-pin) or withhold the tool until `toolgate tools approve NAME`.',
      ),
    screen: z
      .enum(['off', 'warn', 'withhold'])
      .default('warn')
      .describe(
        'Screen descriptions for hidden Unicode and instruction-like text aimed at the model: log a warning, or withhold the tool until approved.',
      ),
    pollIntervalMs: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe('How often the gateway re-reads approvals made with `toolgate tools approve`.'),
  })
  .prefault({})
  .describe('Tool pinning (rug-pull detection) and the tool-poisoning screen.');

export type AuthConfig = z.infer<typeof AuthSchema>;
export type BearerConfig = z.infer<typeof BearerSchema>;
export type AuthorizationConfig = z.infer<typeof AuthorizationSchema>;
export type AuthorizationRule = z.infer<typeof RuleSchema>;
export type PrincipalCondition = z.infer<typeof PrincipalConditionSchema>;
export type RateLimitsConfig = z.infer<typeof RateLimitsSchema>;
export type RateLimitSettings = z.infer<typeof RateLimitSettingsSchema>;
export type RedactSettings = z.infer<typeof RedactSettingsSchema>;
export type RedactionConfig = z.infer<typeof RedactionSchema>;
export type StoreConfig = z.infer<typeof StoreSchema>;
export type AuditConfig = z.infer<typeof AuditSchema>;
export type PinningConfig = z.infer<typeof PinningSchema>;

/** The part of a config the security checks read (type-only, so this file does not import the schema). */
interface SecuritySections {
  auth: AuthConfig;
  store: StoreConfig;
  rateLimits: RateLimitsConfig;
  authorization: AuthorizationConfig;
}

/** Cross-field rules of the security sections that zod cannot express; reported with the other config problems. */
export function securityProblems(config: SecuritySections): { path: string; message: string; hint?: string }[] {
  const problems: { path: string; message: string; hint?: string }[] = [];
  if (config.auth.bearer !== undefined && config.auth.resource === undefined) {
    problems.push({
      path: 'auth.resource',
      message: 'required with auth.bearer: tokens are checked to be minted for this URL (RFC 8707 audience)',
      hint: 'set it to the public URL of the MCP endpoint, e.g. https://tools.example.com/mcp',
    });
  }
  if (config.store.kind === 'postgres' && config.store.url === undefined) {
    problems.push({ path: 'store.url', message: 'required with store.kind: postgres', hint: 'write it as ${PG_URL}' });
  }
  if (config.rateLimits.store === 'redis' && config.rateLimits.redis === undefined) {
    problems.push({
      path: 'rateLimits.redis',
      message: 'required with rateLimits.store: redis',
      hint: 'add redis: { url: ${REDIS_URL} }',
    });
  }
  config.authorization.rules.forEach((r, i) => {
    if (r.tools === undefined && r.prompts === undefined && r.resources === undefined) {
      problems.push({
        path: `authorization.rules.${i}`,
        message: 'a rule must name tools, prompts or resources',
        hint: 'add tools: ["namespace__*"]',
      });
    }
  });
  return problems;
}
