import type { Counter } from 'prom-client';
import { GatewayError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { JsonObject, Next, Policy, ToolCall, ToolResult } from '../types.js';
import { compileToolSchema, displayPath, pointerSegments } from './schema-compiler.js';

/** Options of the output-schema policy. */
export interface ValidateOutputPolicyOptions {
  readonly toolName: string;
  readonly upstreamName: string;
  readonly outputSchema: JsonObject;
  /** `check`: log, count, pass through. `enforce`: replace the result with an isError result. */
  readonly mode: 'check' | 'enforce';
  /** Build-time log (an uncompilable output schema is reported here). */
  readonly logger: Logger;
  readonly counter?: Counter<'tool' | 'kind'>;
}

/**
 * Checks `structuredContent` against the tool's `outputSchema`. A violation is logged and counted, and in `enforce`
 * mode the result is replaced by `TG_OUTPUT_INVALID`. An upstream error result (`isError`) is never checked or
 * replaced: the model must see the upstream's own explanation. Returns undefined when the output schema does not
 * compile (reported here, once, with the upstream and tool named).
 */
export function createValidateOutputPolicy(options: ValidateOutputPolicyOptions): Policy | undefined {
  const { toolName, upstreamName, mode, logger, counter } = options;
  const compiled = compileToolSchema(options.outputSchema);
  if (!compiled.ok) {
    logger.error(
      { upstream: upstreamName, tool: toolName, err: compiled.error },
      'output schema does not compile; structured output of this tool is not checked',
    );
    counter?.inc({ tool: toolName, kind: 'schema' });
    return undefined;
  }
  const validate = compiled.validate;
  return async function validateOutputPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    const result = await next(call);
    if (result.isError === true || !Array.isArray(result.content)) return result;
    const structured = result.structuredContent;
    if (structured !== undefined && validate(structured)) return result;
    const problems =
      structured === undefined
        ? ['structuredContent is missing']
        : (validate.errors ?? [])
            .slice(0, 5)
            .map((e) => `${displayPath(pointerSegments(e.instancePath))} ${e.message ?? 'is invalid'}`);
    counter?.inc({ tool: toolName, kind: 'output' });
    call.log.warn({ upstream: upstreamName, problems }, 'tool result does not match its output schema');
    if (mode === 'check') return result;
    throw new GatewayError(
      'TG_OUTPUT_INVALID',
      `The tool "${toolName}" returned structured output that does not match its declared output schema (${problems.join('; ')}). This is a fault of the tool, not of your arguments; retrying the same call will likely fail the same way.`,
      { data: { problems } },
    );
  };
}
