import { GatewayError } from '../errors.js';
import { deniedToolError, type RuleSet } from '../security/rules.js';
import type { Next, Policy, ToolCall, ToolResult } from '../types.js';

/** Options of the authorize policy. */
export interface AuthorizePolicyOptions {
  rules: RuleSet;
  /** Namespaced tool name the rules match. */
  toolName: string;
}

/**
 * Enforces the authorization rules on a call — the same `RuleSet` decision that filtered `tools/list`. A caller
 * whose identity would be allowed with more scopes gets `TG_DENIED` naming the missing scopes (an isError result
 * the model can relay); any other denial answers as if the tool did not exist (`TG_UNKNOWN_TOOL`), so probing
 * names reveals nothing. Runs inside the audit policy, so denied calls are recorded.
 */
export function createAuthorizePolicy(options: AuthorizePolicyOptions): Policy {
  const { rules, toolName } = options;
  return function authorizePolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    const d = rules.decide(call.principal, 'tool', toolName);
    if (d.allowed) return next(call);
    if (d.missingScopes !== undefined) return Promise.reject(deniedToolError(toolName, d, call.principal));
    return Promise.reject(
      new GatewayError('TG_UNKNOWN_TOOL', `Unknown tool: ${toolName}`, { data: { name: toolName } }),
    );
  };
}
