/**
 * What the load runner needs from a target, whatever its transport: connect once, then many concurrent calls
 * that never throw but say how each one ended.
 */
import { isObject, type JsonObject } from '../jsonrpc/types.js';
import type { Era } from './era.js';
import type { PreparedOperation } from './operations.js';

/** How one request ended. */
export type CallOutcome =
  | { kind: 'ok' }
  /** A `tools/call` result with `isError: true`. */
  | { kind: 'tool_error'; message: string }
  /** A JSON-RPC error response to this request. */
  | { kind: 'rpc_error'; code: number; message: string }
  /** No usable answer: HTTP status without JSON-RPC body, connection failure, the stdio child gone. */
  | { kind: 'transport_error'; reason: string; message: string }
  /** An answer that is not what was asked: wrong shape, another request's id, unparseable body. */
  | { kind: 'invalid'; reason: string }
  /** No answer within the per-call timeout. */
  | { kind: 'timeout' };

/** What connecting found out. */
export interface ConnectInfo {
  era: Era;
  protocolVersion: string;
  /** `name version` of the server, when it said. */
  server?: string;
  /** Legacy HTTP sessions opened. */
  sessions?: number;
  /** Time to spawn/connect and finish the handshake or era probe, in ms (excluded from latency). */
  connectMs: number;
}

/** A load target. `call` never rejects: every way a call can end is a `CallOutcome`. */
export interface BenchTarget {
  /** One line saying where the load goes (printed before the run starts). */
  readonly description: string;
  /** Spawns/connects, detects the era, opens sessions. Throws a `GatewayError` when the target is unusable. */
  connect(): Promise<ConnectInfo>;
  /** Sends one request. `signal` aborts it on timeout. */
  call(op: PreparedOperation, signal: AbortSignal): Promise<CallOutcome>;
  /** Responses that matched no request ever sent and not yet answered (stray or duplicate ids). */
  readonly unmatchedResponses: number;
  /** Answers that arrived after their request had timed out (not a correctness failure). */
  readonly lateResponses: number;
  /** Legacy HTTP sessions re-initialized after the server forgot them (404); 0 elsewhere. */
  readonly sessionReinits: number;
  /** Set once the target can take no more calls (the stdio child exited); the runner stops issuing. */
  readonly failure: string | undefined;
  /** The modern `_meta` envelope operations must carry (set by `connect` on a modern target). */
  readonly envelope: JsonObject | undefined;
  /** The pid whose process tree is sampled, when bench knows one. */
  readonly pid: number | undefined;
  /** Ends connections and stops whatever bench started. Safe to call twice. */
  close(): Promise<void>;
}

const OK: CallOutcome = Object.freeze({ kind: 'ok' });

/** Classifies a successful JSON-RPC result of `op`: ok, tool error, or invalid shape. */
export function classifyResult(op: PreparedOperation, result: unknown): CallOutcome {
  if (!isObject(result)) return { kind: 'invalid', reason: 'result is not an object' };
  const problem = op.checkShape(result);
  if (problem !== undefined) return { kind: 'invalid', reason: problem };
  if (result['isError'] === true) return { kind: 'tool_error', message: firstText(result) };
  return OK;
}

/** The first text content of a tool result, cut to one short line (for the "top errors" list). */
function firstText(result: JsonObject): string {
  const content = result['content'];
  if (Array.isArray(content)) {
    for (const c of content) {
      if (isObject(c) && typeof c['text'] === 'string') return oneLine(c['text']);
    }
  }
  return '(no text)';
}

/** Cuts a message to one line of at most 160 characters. */
export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
