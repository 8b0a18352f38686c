import { z } from 'zod';
import { PolicySettingsSchema } from './policy-settings.js';
import {
  AuditSchema,
  AuthSchema,
  AuthorizationSchema,
  PinningSchema,
  RateLimitsSchema,
  RedactionSchema,
  StoreSchema,
} from './security.js';

/**
 * The schema of `toolgate.yaml`. Every key is documented here with `.describe()`; the same text feeds the JSON
 * Schema for editors (`toolgate config schema`) and the reference in `docs/config.md`.
 */

const UPSTREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const EnvMapSchema = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names are letters, digits and _'),
    z.string(),
  )
  .default({});

const EraSchema = z
  .enum(['auto', 'legacy', 'modern'])
  .default('auto')
  .describe(
    'Protocol era to speak to the upstream: auto probes server/discover (2026-07-28) and falls back to initialize (≤2025-11-25); the verdict is cached.',
  );

const CommonUpstreamFields = {
  enabled: z.boolean().default(true).describe('Set false to keep the upstream in config but not start it.'),
  required: z
    .boolean()
    .default(true)
    .describe('A required upstream must be up for /readyz to report ready. Optional upstreams never block readiness.'),
  namespace: z
    .union([z.string().regex(/^[A-Za-z0-9_.-]*$/), z.literal(false)])
    .optional()
    .describe(
      "Prefix of this upstream's tool and prompt names: `<namespace><separator><tool>`. Defaults to the upstream name. `false` exposes names unprefixed (a collision with another upstream is reported and the later tool is dropped).",
    ),
  policies: PolicySettingsSchema.optional().describe('Policy settings for every tool of this upstream.'),
};

const RestartSchema = z
  .strictObject({
    maxAttempts: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(5)
      .describe('Restarts tried after a crash before the upstream is marked down.'),
    initialDelayMs: z
      .number()
      .int()
      .min(0)
      .default(500)
      .describe('Delay before the first restart; doubles each try (with jitter).'),
    maxDelayMs: z.number().int().min(0).default(30_000).describe('Upper bound of the restart delay.'),
    stableAfterMs: z
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe('A child that stays up this long resets the attempt counter.'),
    recoverAfterMs: z
      .number()
      .int()
      .min(0)
      .default(60_000)
      .describe('While marked down, try a fresh start this often (0 = stay down until restart of the gateway).'),
  })
  .prefault({});

const StdioUpstreamSchema = z.strictObject({
  kind: z.literal('stdio').describe('A local MCP server spawned as a child process speaking JSON-RPC on stdin/stdout.'),
  command: z.string().min(1).describe('Executable to spawn (resolved on PATH).'),
  args: z.array(z.string()).default([]).describe('Arguments.'),
  cwd: z
    .string()
    .optional()
    .describe("Working directory (relative to the config file). Defaults to the config file's directory."),
  env: EnvMapSchema.describe(
    'Environment of the child, added to the allowlisted variables. Put secrets here as ${VAR} references, never literals.',
  ),
  inheritEnv: z
    .array(z.string())
    .default([])
    .describe(
      'Names of gateway environment variables passed through to the child, in addition to the safe default allowlist (HOME, PATH, …).',
    ),
  era: EraSchema,
  startupTimeoutMs: z.number().int().positive().default(15_000).describe('Time allowed for spawn plus handshake.'),
  stopTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(2_000)
    .describe('On stop: wait this long after closing stdin, then SIGTERM the process group, wait again, then SIGKILL.'),
  restart: RestartSchema.describe('Crash recovery with exponential backoff.'),
  ...CommonUpstreamFields,
});

const HttpUpstreamSchema = z.strictObject({
  kind: z.literal('http').describe('A remote MCP server over Streamable HTTP (either era).'),
  url: z.url({ protocol: /^https?$/ }).describe('The MCP endpoint URL.'),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe(
      'Headers sent on every request (e.g. Authorization: "Bearer ${UPSTREAM_TOKEN}"). Client tokens are never forwarded.',
    ),
  era: EraSchema,
  connectTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('Time allowed for the first connection and handshake.'),
  reconnect: RestartSchema.describe('Reconnection with exponential backoff when the upstream is unreachable.'),
  ...CommonUpstreamFields,
});

const LocalUpstreamSchema = z.strictObject({
  kind: z.literal('local').describe('In-process tools defined in TypeScript/JavaScript with defineTool().'),
  module: z
    .string()
    .min(1)
    .describe(
      'ES module path (relative to the config file) whose default export or `tools` export is an array of defineTool() values.',
    ),
  ...CommonUpstreamFields,
});

/** One upstream definition. */
export const UpstreamSchema = z.discriminatedUnion('kind', [
  StdioUpstreamSchema,
  HttpUpstreamSchema,
  LocalUpstreamSchema,
]);

const ToolSettingsSchema = PolicySettingsSchema.extend({
  enabled: z.boolean().optional().describe('Set false to hide the tool from lists and refuse calls to it.'),
}).describe(
  'Settings for the tools whose namespaced name matches the glob key (`*` matches any run of characters, `?` one).',
);

/** The whole configuration file. */
export const ConfigSchema = z
  .strictObject({
    server: z
      .strictObject({
        name: z.string().min(1).default('toolgate').describe('serverInfo.name reported to clients.'),
        instructions: z
          .string()
          .optional()
          .describe('Instructions returned to clients in initialize / server/discover.'),
      })
      .prefault({})
      .describe('How the gateway presents itself to MCP clients.'),
    listen: z
      .strictObject({
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .describe('Interface to bind. Keep 127.0.0.1 unless auth is configured.'),
        port: z.number().int().min(0).max(65535).default(8848).describe('TCP port (0 picks a free one).'),
        path: z
          .string()
          .regex(/^\/[^?#]*$/, 'a path starting with /')
          .default('/mcp')
          .describe('Path of the MCP endpoint.'),
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .max(64 * 1024 * 1024)
          .default(4 * 1024 * 1024)
          .describe('Largest accepted request body; larger bodies get HTTP 413.'),
        allowedOrigins: z
          .array(z.string())
          .optional()
          .describe(
            'Origins allowed to call the endpoint (exact, e.g. https://app.example.com). A request with any other Origin gets 403. Default: http(s)://localhost, 127.0.0.1 and [::1] on any port.',
          ),
        allowedHosts: z
          .array(z.string())
          .optional()
          .describe(
            'Host header values accepted (hostname, or hostname:port). Default when bound to loopback: localhost, 127.0.0.1, [::1]. Default otherwise: any.',
          ),
      })
      .prefault({})
      .describe('The HTTP face.'),
    sessions: z
      .strictObject({
        max: z
          .number()
          .int()
          .positive()
          .default(1000)
          .describe('Most concurrent legacy (≤2025-11-25) sessions; initialize beyond it gets 503.'),
        idleTimeoutMs: z
          .number()
          .int()
          .positive()
          .default(30 * 60 * 1000)
          .describe('A legacy session idle this long is closed; its id then gets 404.'),
      })
      .prefault({})
      .describe('Legacy-era Mcp-Session-Id sessions. Modern (2026-07-28) clients are stateless.'),
    naming: z
      .strictObject({
        separator: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,4}$/, '1–4 characters from A-Z a-z 0-9 _ . -')
          .default('__')
          .describe('Separator between namespace and tool name.'),
      })
      .prefault({})
      .describe('How tool and prompt names of upstreams are namespaced.'),
    pagination: z
      .strictObject({
        pageSize: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(100)
          .describe('Items per page of tools/list, prompts/list, resources/list.'),
      })
      .prefault({})
      .describe('Pagination of lists (cursors are opaque and stable across list changes).'),
    notifications: z
      .strictObject({
        debounceMs: z
          .number()
          .int()
          .min(0)
          .max(60_000)
          .default(200)
          .describe('Upstream list_changed bursts are merged over this window.'),
      })
      .prefault({})
      .describe('Relaying of upstream change notifications to clients.'),
    upstreams: z
      .record(z.string().regex(UPSTREAM_NAME, 'letters, digits, _ and -, up to 64'), UpstreamSchema)
      .default({})
      .describe('Upstream MCP servers and tool sets, by name. The name is the default namespace of their tools.'),
    defaults: PolicySettingsSchema.prefault({}).describe('Policy settings for every tool.'),
    tools: z
      .record(z.string().min(1), ToolSettingsSchema)
      .default({})
      .describe('Policy settings by namespaced tool name or glob (e.g. "files__*").'),
    shutdown: z
      .strictObject({
        drainTimeoutMs: z
          .number()
          .int()
          .min(0)
          .default(15_000)
          .describe('On SIGTERM/SIGINT, in-flight calls get this long to finish before they are cancelled.'),
      })
      .prefault({})
      .describe('Graceful shutdown.'),
    auth: AuthSchema,
    authorization: AuthorizationSchema,
    rateLimits: RateLimitsSchema,
    redaction: RedactionSchema,
    store: StoreSchema,
    audit: AuditSchema,
    pinning: PinningSchema,
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Log level (logs are JSON on stderr).'),
      })
      .prefault({})
      .describe('Logging (pino JSON lines on stderr; stdout is reserved for JSON-RPC on the stdio face).'),
  })
  .describe('toolgate configuration (toolgate.yaml).');

/** A validated configuration with defaults applied. */
export type Config = z.infer<typeof ConfigSchema>;
export type UpstreamConfig = z.infer<typeof UpstreamSchema>;
export type StdioUpstreamConfig = z.infer<typeof StdioUpstreamSchema>;
export type HttpUpstreamConfig = z.infer<typeof HttpUpstreamSchema>;
export type LocalUpstreamConfig = z.infer<typeof LocalUpstreamSchema>;
export type RestartConfig = z.infer<typeof RestartSchema>;
export type ToolSettings = z.infer<typeof ToolSettingsSchema>;
