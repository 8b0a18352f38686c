import type { Logger } from './telemetry/logger.js';
import type { JsonObject, JsonRpcRequest } from './jsonrpc/types.js';
import type { ProgressUpdate } from './jsonrpc/peer.js';

export type { JsonObject } from './jsonrpc/types.js';
export type { ProgressUpdate } from './jsonrpc/peer.js';

/** The two MCP protocol eras (spec 2026-07-28 "versioning"): legacy = initialize-based ≤2025-11-25; modern = stateless. */
export type Era = 'legacy' | 'modern';

/** Who is calling. Set by the edge (auth) and carried with every call. */
export interface Principal {
  /** Stable subject id (`sub` claim, API key id, `anonymous`, `stdio`). */
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
  readonly tenant?: string;
  readonly authMethod: 'anonymous' | 'bearer' | 'api-key' | 'stdio';
}

/** The principal of unauthenticated callers. */
export const ANONYMOUS: Principal = Object.freeze({
  subject: 'anonymous',
  scopes: Object.freeze([]) as readonly string[],
  claims: Object.freeze({}),
  authMethod: 'anonymous' as const,
});

/** A content block of a tool result (MCP `ContentBlock`); kept open so new block types pass through untouched. */
export interface ContentBlock {
  type: string;
  [key: string]: unknown;
}

/** A `tools/call` result. Fields beyond the known ones pass through untouched. */
export interface ToolResult {
  content: ContentBlock[];
  structuredContent?: unknown;
  isError?: boolean;
  _meta?: JsonObject;
  [key: string]: unknown;
}

/** MCP tool annotations (hints; untrusted unless the upstream is trusted). */
export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
  [key: string]: unknown;
}

/** A tool definition as listed by `tools/list`. */
export interface ToolDefinition {
  name: string;
  title?: string;
  description?: string;
  inputSchema: JsonObject;
  outputSchema?: JsonObject;
  annotations?: ToolAnnotations;
  _meta?: JsonObject;
  [key: string]: unknown;
}

/** Options of a call to an upstream. */
export interface UpstreamCallOptions {
  /** Aborting cancels the upstream request (`notifications/cancelled` or closing the stream). */
  signal?: AbortSignal;
  /** Progress from the upstream for this request. */
  onProgress?: (update: ProgressUpdate) => void;
  /** A request the upstream sends back while serving this call (sampling, elicitation, roots). */
  onRequest?: (request: JsonRpcRequest, signal: AbortSignal) => Promise<JsonObject>;
  /** A notification the upstream relates to this call (`notifications/message`). */
  onNotification?: (method: string, params: JsonObject | undefined) => void;
  /** Who the call is for and its correlation id (in-process tools see them; remote upstreams never get them). */
  principal?: Principal;
  correlationId?: string;
  log?: Logger;
}

/** Options of `Upstream.close`. */
export interface UpstreamCloseOptions {
  /** How long a child may take to exit after stdin closes (and again after SIGTERM); default from config. */
  graceMs?: number;
}

/** Lifecycle state of an upstream. */
export type UpstreamState = 'idle' | 'starting' | 'up' | 'restarting' | 'down' | 'stopped';

/** Events an upstream reports to the gateway. */
export interface UpstreamListener {
  onStateChange(upstream: Upstream, state: UpstreamState, reason?: string): void;
  /** Unsolicited notifications: list_changed, resources/updated, log messages outside any call. */
  onNotification(upstream: Upstream, method: string, params: JsonObject | undefined): void;
}

/** What an upstream advertised at handshake. */
export interface UpstreamInfo {
  era: Era;
  protocolVersion: string;
  capabilities: JsonObject;
  serverInfo?: JsonObject;
  instructions?: string;
}

/**
 * One upstream: a stdio child, a remote HTTP server, or in-process tools. One small interface:
 * `call` with an AbortSignal, `close` that waits, `destroy` that aborts.
 */
export interface Upstream {
  readonly name: string;
  readonly kind: 'stdio' | 'http' | 'local';
  readonly state: UpstreamState;
  /** Handshake result while up. */
  readonly info: UpstreamInfo | undefined;
  setListener(listener: UpstreamListener): void;
  /** Starts (spawn, connect, load). Resolves when up; rejects if it cannot come up (then state is `down`). */
  start(): Promise<void>;
  /** Sends one request; rejects with `GatewayError` (transport, unavailable, cancelled) or `RemoteError`. */
  call(method: string, params: JsonObject | undefined, options?: UpstreamCallOptions): Promise<JsonObject>;
  /** Graceful stop: lets in-flight requests finish (bounded), then releases everything. */
  close(options?: UpstreamCloseOptions): Promise<void>;
  /** Immediate stop: aborts in-flight requests and kills what it started. */
  destroy(): void;
}

/** Where a tool call goes: an upstream and the tool's name there. The fallback policy may redirect it. */
export interface CallTarget {
  readonly upstream: Upstream;
  readonly toolName: string;
}

/** One tool call on its way through the policy chain. */
export interface ToolCall {
  /** The catalog entry, resolved from the request body. */
  readonly entry: ToolEntry;
  /** Where the terminal step sends the call. */
  readonly target: CallTarget;
  /** Arguments as the upstream will receive them (validate/auto-correct may replace them). */
  readonly arguments: JsonObject;
  readonly principal: Principal;
  /** Correlation id shown to clients in masked errors and present on every log line of this call. */
  readonly correlationId: string;
  /** Aborted when the client cancels, disconnects, the gateway stops, or a policy ends the call. */
  readonly signal: AbortSignal;
  /**
   * Ends the call for everything inside the policy that calls it (aborts `signal` with `reason`): the timeout
   * policy uses it. One controller per call, made by the face — policies never allocate their own.
   */
  readonly abort: (reason: Error) => void;
  /** The client's request `_meta` with reserved protocol keys removed (trace context etc. is forwarded). */
  readonly meta: JsonObject | undefined;
  /** Relays progress to the client (present when the client asked for progress). */
  readonly progress?: (update: ProgressUpdate) => void;
  /** Relays an upstream request (sampling, elicitation) to the client, when its era and capabilities allow. */
  readonly clientRequest?: (request: JsonRpcRequest, signal: AbortSignal) => Promise<JsonObject>;
  /** Relays a call-related notification (log message) to the client. */
  readonly clientNotify?: (method: string, params: JsonObject | undefined) => void;
  readonly log: Logger;
  /** `performance.now()` when the gateway received the call. */
  readonly startedAt: number;
}

/** Continues the chain. */
export type Next = (call: ToolCall) => Promise<ToolResult>;

/** A policy: one step of the chain around every tool call. Made by a `createXxxPolicy(options)` factory. */
export type Policy = (call: ToolCall, next: Next) => Promise<ToolResult>;

/** A tool in the catalog, with its chain composed once when the catalog was built. */
export interface ToolEntry {
  /** Name exposed to clients (namespaced). */
  readonly name: string;
  readonly upstreamName: string;
  readonly upstream: Upstream;
  /** Name at the upstream. */
  readonly toolName: string;
  /** Definition exposed to clients (name rewritten), frozen. */
  readonly definition: Readonly<ToolDefinition>;
  /** Fingerprint of the definition (name, description, schemas, annotations): the tool's version. */
  readonly version: string;
  /** Runs the composed chain. */
  readonly invoke: (call: ToolCall) => Promise<ToolResult>;
}
