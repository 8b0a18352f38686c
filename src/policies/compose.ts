import type { Next, Policy, ToolCall, ToolResult } from '../types.js';

/** One step that never throws: a synchronous throw becomes a rejected promise. */
function settled(run: (call: ToolCall) => Promise<ToolResult>): Next {
  return function composedStep(call: ToolCall): Promise<ToolResult> {
    try {
      return run(call);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  };
}

/**
 * Composes policies (outermost first) around a terminal step into one function. Done once per tool when the
 * catalog is built; a request only runs what was prepared. Every `next` a policy is handed — and the composed
 * chain itself — only ever rejects, never throws, so a policy may write `next(call).then(onResult, onError)`
 * without guarding a synchronous throw. A retry goes through its own loop around `next`, each call of which runs
 * the inner chain afresh.
 */
export function composePolicies(policies: readonly Policy[], terminal: Next): Next {
  if (policies.length === 0) return terminal;
  // Build from the inside out: each layer's `next` is the composed rest, a fixed function (no per-call closures).
  let next: Next = settled(terminal);
  for (let i = policies.length - 1; i >= 0; i--) {
    const policy = policies[i] as Policy;
    const inner = next;
    next = settled((call) => policy(call, inner));
  }
  return next;
}
