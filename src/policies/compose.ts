import type { Next, Policy, ToolCall, ToolResult } from '../types.js';

/**
 * Composes policies (outermost first) around a terminal step into one function. Done once per tool when the
 * catalog is built; a request only runs what was prepared. A policy that calls `next` twice gets an error —
 * a retry must go through its own loop around `next`, each call of which runs the inner chain afresh.
 */
export function composePolicies(policies: readonly Policy[], terminal: Next): Next {
  if (policies.length === 0) return terminal;
  if (policies.length === 1) {
    const only = policies[0] as Policy;
    return function composedOne(call: ToolCall): Promise<ToolResult> {
      return only(call, terminal);
    };
  }
  // Build from the inside out: each layer's `next` is the composed rest, a fixed function (no per-call closures).
  let next: Next = terminal;
  for (let i = policies.length - 1; i >= 0; i--) {
    const policy = policies[i] as Policy;
    const inner = next;
    next = function composedStep(call: ToolCall): Promise<ToolResult> {
      return policy(call, inner);
    };
  }
  return next;
}
