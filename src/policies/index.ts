import type { PolicySettings } from '../config/policy-settings.js';
import { DEFAULT_TIMEOUT_MS } from '../config/policy-settings.js';
import type { Logger } from '../telemetry/logger.js';
import type { GatewayMetrics } from '../telemetry/metrics.js';
import type { Next, Policy, ToolDefinition, Upstream } from '../types.js';
import { composePolicies } from './compose.js';
import { createMaskErrorsPolicy } from './mask-errors.js';
import {
  CAP_OUTPUT_SLOT,
  CIRCUIT_BREAKER_SLOT,
  CONCURRENCY_SLOT,
  FALLBACK_SLOT,
  RETRY_SLOT,
  VALIDATE_OUTPUT_SLOT,
  VALIDATE_SLOT,
} from './reliability-slots.js';
import type { ResilienceRegistry } from './resilience-registry.js';
import { AUDIT_SLOT, SECURITY_SLOTS } from './security-slots.js';
import type { SecurityServices } from '../security/security.js';
import { callUpstreamTool } from './terminal.js';
import { createTimeoutPolicy } from './timeout.js';

/** Shared services policies may use (built once per gateway). */
export interface PolicyServices {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Every upstream by config name (the fallback policy routes between them). */
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** Circuit breakers and concurrency limiters shared across tool entries (absent in bare library/unit use: then one per services object). */
  readonly resilience?: ResilienceRegistry;
  /** Redactor, rule set, limiter, audit writer and pin registry (absent in bare library/unit use). */
  readonly security?: SecurityServices;
}

/** Everything a policy factory may precompute from, for one tool. */
export interface PolicyBuildContext {
  /** Namespaced tool name. */
  readonly toolName: string;
  readonly upstreamName: string;
  readonly definition: Readonly<ToolDefinition>;
  readonly settings: PolicySettings;
  /** Config path of each top-level setting, for messages. */
  readonly sources: Readonly<Record<string, string>>;
  readonly services: PolicyServices;
}

/** A policy slot in the chain: builds the tool's policy, or nothing when the policy does not apply. */
export interface PolicySlot {
  readonly name: string;
  build(ctx: PolicyBuildContext): Policy | undefined;
}

/**
 * The chain, outermost first. Order matters:
 * - `audit` wraps everything, so it records what the client saw (see `security-slots.ts`);
 * - `mask-errors` is next so every failure below it reaches the client in the right form;
 * - `authorize`, `pin`, `rate-limit`, `redact`, `screen-errors` (see `security-slots.ts` for their order);
 * - `validate` comes before anything that costs: a malformed call never takes time budget, a retry, a breaker
 *   count or a concurrency slot (and the caller's mistakes never open a breaker);
 * - `cap-output` and `validate-output` act once on the final result, after retries and failover: a result is
 *   checked untruncated, then capped; an output violation is deterministic, so it is neither retried nor counted;
 * - `timeout` bounds everything inside it (a retry loop placed inside it stays within the call's deadline);
 * - `retry` wraps the rest, so each attempt re-chooses its target (fallback), asks the breakers and queues anew,
 *   and a backoff sleep holds no concurrency slot;
 * - `fallback` chooses the target before `circuit-breaker` and `concurrency`, which then apply to the upstream the
 *   call really goes to;
 * - `circuit-breaker` rejects before the queue (an open breaker never makes calls wait);
 * - `concurrency` is innermost: a slot is held only while the upstream works on the call.
 */
export const POLICY_CHAIN: readonly PolicySlot[] = [
  AUDIT_SLOT,
  { name: 'mask-errors', build: () => createMaskErrorsPolicy() },
  ...SECURITY_SLOTS,
  VALIDATE_SLOT,
  CAP_OUTPUT_SLOT,
  VALIDATE_OUTPUT_SLOT,
  {
    name: 'timeout',
    build: (ctx) =>
      createTimeoutPolicy({
        timeoutMs: ctx.settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        source: ctx.sources['timeoutMs'] ?? 'default',
      }),
  },
  RETRY_SLOT,
  FALLBACK_SLOT,
  CIRCUIT_BREAKER_SLOT,
  CONCURRENCY_SLOT,
];

/** Builds a tool's composed chain (once per catalog build, never per request). */
export function buildToolChain(
  ctx: PolicyBuildContext,
  slots: readonly PolicySlot[] = POLICY_CHAIN,
  terminal: Next = callUpstreamTool,
): Next {
  const policies: Policy[] = [];
  for (const slot of slots) {
    const p = slot.build(ctx);
    if (p !== undefined) policies.push(p);
  }
  return composePolicies(policies, terminal);
}
