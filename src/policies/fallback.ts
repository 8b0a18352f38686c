import { isGatewayError } from '../errors.js';
import type { Counter } from 'prom-client';
import type { JsonObject, Next, Policy, ToolCall, ToolResult, Upstream } from '../types.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { ResilienceRegistry } from './resilience-registry.js';

/** `_meta` key telling that a fallback upstream served the call. */
export const FALLBACK_META_KEY = 'toolgate/fallback';

/** Why a call went to the fallback. */
export type FallbackReason = 'down' | 'circuit-open' | 'unavailable';

/** Options of the fallback policy. */
export interface FallbackPolicyOptions {
  /** Namespaced tool name (breaker lookup, metrics). */
  readonly toolName: string;
  readonly primary: Upstream;
  readonly fallback: Upstream;
  /** Tool name at the fallback, when it differs from the primary's. */
  readonly fallbackToolName?: string;
  /** Breakers of the primary are looked up here. */
  readonly registry?: ResilienceRegistry;
  readonly counter?: Counter<'tool' | 'upstream' | 'reason'>;
}

/**
 * Sends a call to a fallback upstream serving the same tool when the primary is not up or its breaker (tool or
 * upstream) is open — and once more when the primary refused the call without running it (unavailable, circuit
 * open). The fallback is used only when it is up itself. The result's `_meta["toolgate/fallback"]` names the
 * upstream that served it and why.
 */
export function createFallbackPolicy(options: FallbackPolicyOptions): Policy {
  const { toolName, primary, fallback, fallbackToolName, registry, counter } = options;
  // The primary's breakers are made by the circuit-breaker slot, built after this one: found on first use, then kept
  // (they are replaced only when settings change, and then this policy is rebuilt too).
  let breakers: readonly CircuitBreaker[] | undefined;
  const primaryOut = (): FallbackReason | undefined => {
    if (primary.state !== 'up') return 'down';
    breakers ??= [registry?.findBreaker('upstream', primary.name), registry?.findBreaker('tool', toolName)].filter(
      (b): b is CircuitBreaker => b !== undefined,
    );
    for (const b of breakers) if (b.isRejecting()) return 'circuit-open';
    return undefined;
  };
  const redirect = async (call: ToolCall, next: Next, reason: FallbackReason): Promise<ToolResult> => {
    const target = { upstream: fallback, toolName: fallbackToolName ?? call.target.toolName };
    counter?.inc({ tool: toolName, upstream: fallback.name, reason });
    call.log.info(
      { primary: primary.name, fallback: fallback.name, reason },
      'serving the call from the fallback upstream',
    );
    const result = await next({ ...call, target });
    const note: JsonObject = { upstream: fallback.name, primary: primary.name, reason };
    return { ...result, _meta: { ...result._meta, [FALLBACK_META_KEY]: note } };
  };
  return async function fallbackPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    const reason = primaryOut();
    if (reason !== undefined && fallback.state === 'up') return redirect(call, next, reason);
    try {
      return await next(call);
    } catch (err) {
      // Only failures by which the primary refused the call (not up, breaker open), so it is not run twice.
      const refused = isGatewayError(err) && (err.code === 'TG_UPSTREAM_UNAVAILABLE' || err.code === 'TG_CIRCUIT_OPEN');
      if (!refused || fallback.state !== 'up' || call.signal.aborted) throw err;
      return redirect(call, next, err.code === 'TG_CIRCUIT_OPEN' ? 'circuit-open' : 'unavailable');
    }
  };
}
