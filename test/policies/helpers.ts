import { createLogger } from '../../src/telemetry/logger.js';
import { GatewayMetrics } from '../../src/telemetry/metrics.js';
import {
  ANONYMOUS,
  type JsonObject,
  type ToolCall,
  type ToolEntry,
  type ToolResult,
  type Upstream,
  type UpstreamState,
} from '../../src/types.js';

/** A silent logger for unit tests. */
export const log = createLogger({ level: 'silent' });

/** Fresh metrics without process collectors. */
export const newMetrics = (): GatewayMetrics => new GatewayMetrics({ processMetrics: false });

/** A stand-in upstream whose state a test sets. */
export function fakeUpstream(name: string, state: UpstreamState = 'up'): Upstream & { state: UpstreamState } {
  return { name, kind: 'local', state, info: undefined } as unknown as Upstream & { state: UpstreamState };
}

/** A call to `up__tool` (or as overridden), with its own abort controller. */
export function makeCall(overrides: Partial<ToolCall> & { controller?: AbortController } = {}): ToolCall {
  const { controller = new AbortController(), ...rest } = overrides;
  return {
    entry: { name: 'up__tool' } as ToolEntry,
    target: { upstream: fakeUpstream('up'), toolName: 'tool' },
    arguments: {},
    principal: ANONYMOUS,
    correlationId: 'cid-1',
    signal: controller.signal,
    abort: (reason: Error) => controller.abort(reason),
    meta: undefined,
    log,
    startedAt: performance.now(),
    ...rest,
  };
}

/** A plain text result. */
export const textResult = (text: string, extra: Partial<ToolResult> = {}): ToolResult => ({
  content: [{ type: 'text', text }],
  ...extra,
});

/** The text of the first content block. */
export const firstText = (r: ToolResult): string => String(r.content[0]?.['text'] ?? '');

/** Arguments a terminal saw. */
export function recordingTerminal(result: ToolResult = textResult('ok')): {
  calls: JsonObject[];
  next: (call: ToolCall) => Promise<ToolResult>;
} {
  const calls: JsonObject[] = [];
  return {
    calls,
    next: async (call: ToolCall) => {
      calls.push(call.arguments);
      return result;
    },
  };
}
