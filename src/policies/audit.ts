import { isGatewayError } from '../errors.js';
import type { AuditWriter } from '../security/audit-writer.js';
import type { AuditOutcome } from '../state/store.js';
import type { Next, Policy, ToolCall, ToolResult } from '../types.js';
import { TOOL_ERROR_META_KEY } from './tool-error.js';

const CORRECTIONS_META_KEY = 'toolgate/corrections';
const DENIED = new Set(['TG_DENIED', 'TG_UNKNOWN_TOOL', 'TG_TOOL_WITHHELD']);
const LIMITED = new Set(['TG_RATE_LIMITED', 'TG_LIMITER_UNAVAILABLE', 'TG_CONCURRENCY_LIMIT']);

function outcomeOf(code: string | undefined, isError: boolean): AuditOutcome {
  if (code !== undefined && DENIED.has(code)) return 'denied';
  if (code !== undefined && LIMITED.has(code)) return 'limited';
  return isError ? 'tool_error' : 'ok';
}

/**
 * The outermost policy: records every call — allowed, denied, limited or failed — exactly as the client saw it
 * (it wraps mask-errors). Recording is a queue append; hashing, redaction and the store write happen later in
 * the audit writer's batches.
 */
export function createAuditPolicy(options: { writer: AuditWriter }): Policy {
  const { writer } = options;
  const record = (call: ToolCall, result: ToolResult | undefined, code: string | undefined): void => {
    const p = call.principal;
    writer.record({
      ts: Date.now(),
      principal: p.subject,
      authMethod: p.authMethod,
      tenant: p.tenant,
      tool: call.entry.name,
      toolVersion: call.entry.version,
      upstream: call.entry.upstreamName,
      arguments: call.arguments,
      outcome:
        result === undefined
          ? code !== undefined && DENIED.has(code)
            ? 'denied'
            : 'error'
          : outcomeOf(code, result.isError === true),
      errorCode: code,
      durationMs: performance.now() - call.startedAt,
      corrections: result?._meta?.[CORRECTIONS_META_KEY],
      correlationId: call.correlationId,
    });
  };
  // Plain promise callbacks rather than an async function with try/finally: this wraps every call. (`next` only
  // rejects, never throws: see composePolicies.)
  return function auditPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    return next(call).then(
      (result) => {
        record(call, result, (result._meta?.[TOOL_ERROR_META_KEY] as { code?: string } | undefined)?.code);
        return result;
      },
      (err: unknown) => {
        record(call, undefined, isGatewayError(err) ? err.code : 'TG_INTERNAL');
        throw err;
      },
    );
  };
}
