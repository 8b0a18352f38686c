/**
 * The one error-code registry of toolgate.
 *
 * Every error raised inside toolgate is a `GatewayError` carrying a stable `TG_*` code from this table.
 * Callers match on `code`, never on message text. The edges (HTTP, stdio, tool results) convert a
 * `GatewayError` to the wire in one place each, using the `surface` of its code:
 *
 * - `protocol`: a JSON-RPC error response (`jsonRpcCode`), with `httpStatus` on the HTTP face.
 * - `tool`: a tool result with `isError: true` and a message written for the model.
 * - `http`: an HTTP status on a non-MCP route (or before a JSON-RPC message could be read).
 * - `cli`: a command-line failure (exit code 1 or 2, message on stderr).
 *
 * Codes are never reused or renamed. `docs/errors.md` documents each one; a test keeps both in sync.
 */

/** Where an error is reported. */
export type ErrorSurface = 'protocol' | 'tool' | 'http' | 'cli';

/** The static description of one error code. */
export interface ErrorCodeSpec {
  readonly surface: ErrorSurface;
  /** JSON-RPC error code, for the `protocol` surface (and for `http` errors sent with a JSON-RPC body). */
  readonly jsonRpcCode?: number;
  /** HTTP status when the error ends an HTTP exchange. */
  readonly httpStatus?: number;
  /** True when the same call may succeed if repeated later (drives retry and the model-facing hint). */
  readonly retryable: boolean;
  /** One line: what happened. */
  readonly description: string;
}

const spec = (s: ErrorCodeSpec): ErrorCodeSpec => s;

/** The registry. Keep it sorted by area; append, never renumber or reuse. */
export const ERROR_CODES = {
  // JSON-RPC and MCP protocol errors
  TG_PARSE_ERROR: spec({
    surface: 'protocol',
    jsonRpcCode: -32700,
    httpStatus: 400,
    retryable: false,
    description: 'The message is not valid JSON.',
  }),
  TG_INVALID_REQUEST: spec({
    surface: 'protocol',
    jsonRpcCode: -32600,
    httpStatus: 400,
    retryable: false,
    description: 'The message is not a valid JSON-RPC 2.0 request or notification.',
  }),
  TG_METHOD_NOT_FOUND: spec({
    surface: 'protocol',
    jsonRpcCode: -32601,
    httpStatus: 404,
    retryable: false,
    description: 'The method is not offered by this gateway in the negotiated protocol era.',
  }),
  TG_INVALID_PARAMS: spec({
    surface: 'protocol',
    jsonRpcCode: -32602,
    httpStatus: 200,
    retryable: false,
    description: 'The request parameters do not match the method.',
  }),
  TG_UNKNOWN_TOOL: spec({
    surface: 'protocol',
    jsonRpcCode: -32602,
    httpStatus: 200,
    retryable: false,
    description: 'No tool with this name is offered to the caller.',
  }),
  TG_UNKNOWN_PROMPT: spec({
    surface: 'protocol',
    jsonRpcCode: -32602,
    httpStatus: 200,
    retryable: false,
    description: 'No prompt with this name is offered to the caller.',
  }),
  TG_RESOURCE_NOT_FOUND: spec({
    surface: 'protocol',
    jsonRpcCode: -32602,
    httpStatus: 200,
    retryable: false,
    description: 'No upstream offers a resource with this URI.',
  }),
  TG_INVALID_CURSOR: spec({
    surface: 'protocol',
    jsonRpcCode: -32602,
    httpStatus: 200,
    retryable: false,
    description: 'The pagination cursor was not issued by this gateway or is stale.',
  }),
  TG_MISSING_META: spec({
    surface: 'protocol',
    jsonRpcCode: -32602,
    httpStatus: 400,
    retryable: false,
    description: 'A 2026-07-28 request lacks a required `_meta` envelope field.',
  }),
  TG_HEADER_MISMATCH: spec({
    surface: 'protocol',
    jsonRpcCode: -32020,
    httpStatus: 400,
    retryable: false,
    description: 'An Mcp-Method, Mcp-Name or MCP-Protocol-Version header is missing or disagrees with the body.',
  }),
  TG_MISSING_CLIENT_CAPABILITY: spec({
    surface: 'protocol',
    jsonRpcCode: -32021,
    httpStatus: 400,
    retryable: false,
    description: 'The request needs a client capability the client did not declare.',
  }),
  TG_UNSUPPORTED_VERSION: spec({
    surface: 'protocol',
    jsonRpcCode: -32022,
    httpStatus: 400,
    retryable: false,
    description: 'The requested protocol version is not supported.',
  }),
  TG_NOT_INITIALIZED: spec({
    surface: 'protocol',
    jsonRpcCode: -32600,
    httpStatus: 400,
    retryable: false,
    description: 'A legacy-era request arrived before `initialize` completed.',
  }),
  TG_UPSTREAM_REQUEST_FAILED: spec({
    surface: 'protocol',
    jsonRpcCode: -32603,
    httpStatus: 200,
    retryable: true,
    description: 'An upstream failed a forwarded non-tool request (resources, prompts, completion).',
  }),
  TG_INTERNAL: spec({
    surface: 'protocol',
    jsonRpcCode: -32603,
    httpStatus: 200,
    retryable: false,
    description: 'An unexpected internal error; details are in the log under the correlation id.',
  }),

  // HTTP face
  TG_SESSION_REQUIRED: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 400,
    retryable: false,
    description: 'A legacy-era request without an Mcp-Session-Id (send `initialize` first).',
  }),
  TG_SESSION_NOT_FOUND: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 404,
    retryable: false,
    description: 'The Mcp-Session-Id is unknown, expired or terminated; re-initialize.',
  }),
  TG_SESSION_LIMIT: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 503,
    retryable: true,
    description: 'The gateway holds its maximum number of legacy sessions.',
  }),
  TG_STREAM_CONFLICT: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 409,
    retryable: false,
    description: 'The session already has an open GET stream.',
  }),
  TG_FORBIDDEN_ORIGIN: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 403,
    retryable: false,
    description: 'The Origin header is not allowed (DNS-rebinding protection).',
  }),
  TG_FORBIDDEN_HOST: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 403,
    retryable: false,
    description: 'The Host header is not allowed (DNS-rebinding protection).',
  }),
  TG_BODY_TOO_LARGE: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 413,
    retryable: false,
    description: 'The request body exceeds the configured limit.',
  }),
  TG_UNSUPPORTED_MEDIA_TYPE: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 415,
    retryable: false,
    description: 'The request body is not `application/json`.',
  }),
  TG_NOT_ACCEPTABLE: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 406,
    retryable: false,
    description: 'The Accept header admits neither `application/json` nor `text/event-stream`.',
  }),
  TG_METHOD_NOT_ALLOWED: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 405,
    retryable: false,
    description: 'The HTTP method is not supported on this route.',
  }),
  TG_NOT_FOUND: spec({
    surface: 'http',
    httpStatus: 404,
    retryable: false,
    description: 'No such HTTP route.',
  }),
  TG_SHUTTING_DOWN: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 503,
    retryable: true,
    description: 'The gateway is draining for shutdown and accepts no new work.',
  }),
  TG_UNAUTHENTICATED: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 401,
    retryable: false,
    description: 'The request carries no valid credential.',
  }),
  TG_INSUFFICIENT_SCOPE: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 403,
    retryable: false,
    description: 'The credential lacks a scope this request needs.',
  }),
  TG_TOO_MANY_REQUESTS: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 429,
    retryable: true,
    description: 'A non-tool request exceeded a rate limit; see Retry-After.',
  }),
  TG_AUTH_UNAVAILABLE: spec({
    surface: 'http',
    jsonRpcCode: -32600,
    httpStatus: 503,
    retryable: true,
    description: 'The credential could not be checked now (JWKS, introspection endpoint or key store unreachable).',
  }),

  // Tool results written for the model (isError: true)
  TG_UPSTREAM_UNAVAILABLE: spec({
    surface: 'tool',
    retryable: true,
    description: 'The upstream serving this tool is down or restarting.',
  }),
  TG_UPSTREAM_CRASHED: spec({
    surface: 'tool',
    retryable: true,
    description: 'The upstream process exited while the call was in flight.',
  }),
  TG_UPSTREAM_ERROR: spec({
    surface: 'tool',
    retryable: false,
    description: 'The upstream answered the call with a JSON-RPC error.',
  }),
  TG_UPSTREAM_TRANSPORT: spec({
    surface: 'tool',
    retryable: true,
    description: 'The connection to the upstream failed (network error, HTTP 429/5xx).',
  }),
  TG_UPSTREAM_PROTOCOL: spec({
    surface: 'tool',
    retryable: false,
    description: 'The upstream sent a response that is not valid MCP.',
  }),
  TG_TIMEOUT: spec({
    surface: 'tool',
    retryable: true,
    description: 'The call exceeded its time limit and was cancelled upstream.',
  }),
  TG_CANCELLED: spec({
    surface: 'tool',
    retryable: false,
    description: 'The caller cancelled the call.',
  }),
  TG_TOOL_FAILED: spec({
    surface: 'tool',
    retryable: false,
    description: 'An in-process tool reported a failure meant for the model.',
  }),
  TG_INVALID_ARGUMENTS: spec({
    surface: 'tool',
    retryable: false,
    description: "The arguments do not match the tool's input schema.",
  }),
  TG_OUTPUT_INVALID: spec({
    surface: 'tool',
    retryable: false,
    description: "The tool's structured output does not match its output schema.",
  }),
  TG_SCHEMA_INVALID: spec({
    surface: 'tool',
    retryable: false,
    description:
      "The tool's input schema cannot be compiled (invalid, unsupported dialect, or a remote $ref), so its calls are refused.",
  }),
  TG_RETRY_EXHAUSTED: spec({
    surface: 'tool',
    retryable: true,
    description: 'Every allowed attempt of a retryable call failed.',
  }),
  TG_CIRCUIT_OPEN: spec({
    surface: 'tool',
    retryable: true,
    description: 'The circuit breaker for this tool or upstream is open; calls fail fast until it recovers.',
  }),
  TG_CONCURRENCY_LIMIT: spec({
    surface: 'tool',
    retryable: true,
    description: 'Too many concurrent calls to this tool or upstream, and the wait queue is full or too slow.',
  }),
  TG_RATE_LIMITED: spec({
    surface: 'tool',
    retryable: true,
    description: 'The caller exceeded a rate limit for this tool.',
  }),
  TG_DENIED: spec({
    surface: 'tool',
    retryable: false,
    description: 'The caller is not allowed to use this tool.',
  }),
  TG_TOOL_WITHHELD: spec({
    surface: 'tool',
    retryable: false,
    description: 'The tool changed upstream or failed the poisoning screen and awaits approval.',
  }),
  TG_OUTPUT_BLOCKED: spec({
    surface: 'tool',
    retryable: false,
    description: 'The result contained sensitive data and the redaction mode for this tool is `block`.',
  }),
  TG_LIMITER_UNAVAILABLE: spec({
    surface: 'tool',
    retryable: true,
    description: 'The rate-limit store is unreachable; calls are refused until it is back (fail closed).',
  }),
  TG_TOOL_INTERNAL: spec({
    surface: 'tool',
    retryable: false,
    description: 'An unexpected error while serving the call; details are in the log under the correlation id.',
  }),

  // Configuration and command line
  TG_CONFIG_NOT_FOUND: spec({
    surface: 'cli',
    retryable: false,
    description: 'The configuration file does not exist or cannot be read.',
  }),
  TG_CONFIG_INVALID: spec({
    surface: 'cli',
    retryable: false,
    description: 'The configuration file is not valid; each problem is listed with its path.',
  }),
  TG_CONFIG_ENV_MISSING: spec({
    surface: 'cli',
    retryable: false,
    description: 'The configuration references an environment variable that is not set.',
  }),
  TG_CLI_USAGE: spec({
    surface: 'cli',
    retryable: false,
    description: 'The command line is not valid.',
  }),
  TG_STARTUP_FAILED: spec({
    surface: 'cli',
    retryable: false,
    description: 'The gateway could not start (port in use, required upstream down, module failed to load).',
  }),
  TG_STORE_UNAVAILABLE: spec({
    surface: 'cli',
    retryable: false,
    description: 'The state store (SQLite file or PostgreSQL) cannot be opened or initialised.',
  }),
  TG_BENCH_TARGET_FAILED: spec({
    surface: 'cli',
    retryable: false,
    description: '`toolgate bench` could not use its target (spawn failed, no handshake, unreachable, exited).',
  }),
  TG_CHECK_TARGET_FAILED: spec({
    surface: 'cli',
    retryable: false,
    description: '`toolgate check` could not check its target (not started, unreachable, not MCP, silent); exit 3.',
  }),
} as const satisfies Record<string, ErrorCodeSpec>;

/** A stable toolgate error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options of a `GatewayError`. */
export interface GatewayErrorOptions {
  cause?: unknown;
  /** Extra machine-readable detail (JSON-serialisable), sent as JSON-RPC `error.data` or tool `_meta`. */
  data?: Record<string, unknown>;
  /** When a retry makes sense, how long to wait first. */
  retryAfterMs?: number;
  /** Extra HTTP response headers (e.g. `WWW-Authenticate`). */
  headers?: Record<string, string>;
}

/** An error with a stable `TG_*` code. Everything toolgate raises on purpose is one of these. */
export class GatewayError extends Error {
  declare readonly code: ErrorCode;
  declare readonly data: Record<string, unknown> | undefined;
  declare readonly retryAfterMs: number | undefined;
  declare readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    // These are expected conditions (a limit hit, a bad token), raised in floods under attack: the code says what
    // happened, so keep one stack frame (where it was raised) instead of paying for ten. A `cause` keeps its own.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 1;
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Error.stackTraceLimit = limit;
    this.code = code;
    this.data = options.data;
    this.retryAfterMs = options.retryAfterMs;
    this.headers = options.headers;
  }

  /** The registry entry of this error's code. */
  get spec(): ErrorCodeSpec {
    return ERROR_CODES[this.code];
  }
}

Object.defineProperty(GatewayError.prototype, 'name', { value: 'GatewayError', writable: false, enumerable: false });

/** True when `err` is a `GatewayError` (matches on shape so errors from another copy of the module count). */
export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError || (err instanceof Error && isErrorCode((err as Error & { code?: unknown }).code));
}

/** True when the code names a known registry entry. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * What an aborted operation rejects with when the caller may have its own reason: the abort reason itself when
 * it is an `Error` other than the generic AbortError (a caller's own timeout error stays that error), else
 * `TG_CANCELLED`.
 */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return abortError(signal);
}

/**
 * The error a cancelled operation rejects with: the abort reason when it is a `GatewayError` (e.g. the timeout
 * policy aborts with `TG_TIMEOUT`), otherwise `TG_CANCELLED`.
 */
export function abortError(signal: AbortSignal): GatewayError {
  const reason: unknown = signal.reason;
  if (isGatewayError(reason)) return reason;
  return new GatewayError('TG_CANCELLED', 'The call was cancelled.', reason instanceof Error ? { cause: reason } : {});
}
