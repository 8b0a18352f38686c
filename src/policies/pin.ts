import { GatewayError } from '../errors.js';
import type { PinRegistry } from '../security/pins.js';
import type { Next, Policy, ToolCall, ToolResult } from '../types.js';

/** Options of the pin policy. */
export interface PinPolicyOptions {
  pins: PinRegistry;
  toolName: string;
}

/**
 * Refuses calls to a tool the pin registry withholds (its definition changed upstream, or it failed the poisoning
 * screen, and nobody approved it yet). The catalog already keeps such tools out of lists; this guards callers
 * that remember the name.
 */
export function createPinPolicy(options: PinPolicyOptions): Policy {
  const { pins, toolName } = options;
  return function pinPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    if (!pins.isWithheld(toolName)) return next(call);
    return Promise.reject(
      new GatewayError(
        'TG_TOOL_WITHHELD',
        `The tool "${toolName}" changed at its upstream (or failed the safety screen) and is withheld until an administrator approves it. Do not retry; use another tool or tell the user.`,
        { data: { approve: `toolgate tools approve ${toolName}` } },
      ),
    );
  };
}
