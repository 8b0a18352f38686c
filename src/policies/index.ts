import type { PolicySettings } from '../config/policy-settings.js';
import { DEFAULT_TIMEOUT_MS } from '../config/policy-settings.js';
import type { Logger } from '../telemetry/logger.js';
import type { GatewayMetrics } from '../telemetry/metrics.js';
import type { Next, Policy, ToolDefinition, Upstream } from '../types.js';
import { composePolicies } from './compose.js';
import { createMaskErrorsPolicy } from './mask-errors.js';
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
 * - `timeout` bounds everything inside it (a retry loop placed inside it stays within the call's deadline).
 */
export const POLICY_CHAIN: readonly PolicySlot[] = [
  AUDIT_SLOT,
  { name: 'mask-errors', build: () => createMaskErrorsPolicy() },
  ...SECURITY_SLOTS,
  {
    name: 'timeout',
    build: (ctx) =>
      createTimeoutPolicy({
        timeoutMs: ctx.settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        source: ctx.sources['timeoutMs'] ?? 'default',
      }),
  },
];

/** Builds a tool's composed chain (once per catalog build, never per request). */
export function buildToolChain(ctx: PolicyBuildContext, slots: readonly PolicySlot[] = POLICY_CHAIN, terminal: Next = callUpstreamTool): Next {
  const policies: Policy[] = [];
  for (const slot of slots) {
    const p = slot.build(ctx);
    if (p !== undefined) policies.push(p);
  }
  return composePolicies(policies, terminal);
}
