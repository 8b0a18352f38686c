import type { Counter } from 'prom-client';
import { GatewayError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { JsonObject, Next, Policy, ToolCall, ToolResult } from '../types.js';
import { correctArguments, fillDefaults, planDefaults, type AutocorrectMode, type Correction } from './autocorrect.js';
import { compileToolSchema } from './schema-compiler.js';
import { buildExample, describeProblems, formatInvalidArguments } from './validation-message.js';

/** `_meta` key listing the corrections applied to a call's arguments. */
export const CORRECTIONS_META_KEY = 'toolgate/corrections';

/** Options of the validate policy. */
export interface ValidatePolicyOptions {
  /** Namespaced tool name (messages, metrics). */
  readonly toolName: string;
  readonly upstreamName: string;
  readonly inputSchema: JsonObject;
  /** Default `fix`. */
  readonly autocorrect?: AutocorrectMode;
  /** What to do when the schema does not compile; default `refuse`. */
  readonly invalidSchema?: 'refuse' | 'serve-unvalidated';
  /** Build-time log (schema problems are reported here, once per tool version). */
  readonly logger: Logger;
  readonly corrections?: Counter<'tool' | 'rule'>;
  readonly failures?: Counter<'tool' | 'kind'>;
}

/**
 * Validates arguments against the tool's input schema before anything that costs (the validator is compiled here,
 * once per tool version). Valid calls pass untouched — or, in `fix` mode, with missing optional fields set to their
 * schema defaults. Invalid calls are repaired when the repair is unambiguous (`fix`), and otherwise refused with
 * `TG_INVALID_ARGUMENTS`: a message naming each field, what it expects, the allowed values, and a valid example.
 * Applied corrections are listed in the result's `_meta["toolgate/corrections"]`.
 *
 * A schema that does not compile is reported now with the upstream and tool named; the tool is then refused
 * (`TG_SCHEMA_INVALID`), or served without validation when `invalidSchema` is `serve-unvalidated` (undefined is
 * returned: no policy).
 */
export function createValidatePolicy(options: ValidatePolicyOptions): Policy | undefined {
  const { toolName, upstreamName, logger, corrections: correctionCounter, failures } = options;
  const mode = options.autocorrect ?? 'fix';
  if (mode !== 'off' && mode !== 'suggest' && mode !== 'fix')
    throw new GatewayError('TG_CONFIG_INVALID', `validate: unknown autocorrect mode ${String(mode)}`);
  const compiled = compileToolSchema(options.inputSchema);
  if (!compiled.ok) {
    const serve = options.invalidSchema === 'serve-unvalidated';
    logger.error(
      { upstream: upstreamName, tool: toolName, err: compiled.error },
      serve
        ? 'input schema does not compile; serving the tool WITHOUT argument validation (validate.invalidSchema: serve-unvalidated)'
        : 'input schema does not compile; calls to the tool are refused (set validate.invalidSchema: serve-unvalidated to serve it unvalidated)',
    );
    failures?.inc({ tool: toolName, kind: 'schema' });
    if (serve) return undefined;
    const reason = compiled.error.length > 160 ? `${compiled.error.slice(0, 159)}…` : compiled.error;
    return function refuseUncheckablePolicy(): Promise<ToolResult> {
      return Promise.reject(
        new GatewayError(
          'TG_SCHEMA_INVALID',
          `The tool "${toolName}" cannot be used: its upstream "${upstreamName}" declares an input schema toolgate cannot check (${reason}). This is not a problem with your arguments; use another tool, or tell the user the tool is misconfigured.`,
          { data: { upstream: upstreamName } },
        ),
      );
    };
  }
  if (compiled.note !== undefined)
    logger.warn(
      { upstream: upstreamName, tool: toolName, note: compiled.note },
      'input schema has no $schema and is not valid 2020-12',
    );
  const { validate, root } = compiled;
  const defaults = mode === 'fix' ? planDefaults(root, root) : undefined;
  const noVerdicts = new Map();

  const proceed = async (
    call: ToolCall,
    next: Next,
    args: JsonObject,
    applied: readonly Correction[],
  ): Promise<ToolResult> => {
    for (const c of applied) correctionCounter?.inc({ tool: toolName, rule: c.rule });
    // Filling schema defaults can happen on every call of a tool: worth a debug line, not an info line each time.
    if (applied.some((c) => c.rule !== 'schema-default'))
      call.log.info({ corrections: applied }, 'arguments auto-corrected');
    else call.log.debug({ corrections: applied }, 'schema defaults filled in');
    const result = await next({ ...call, arguments: args });
    return { ...result, _meta: { ...result._meta, [CORRECTIONS_META_KEY]: applied as unknown as JsonObject[] } };
  };

  const repairOrRefuse = (call: ToolCall, next: Next): Promise<ToolResult> => {
    const args = call.arguments;
    const outcome = mode === 'off' ? undefined : correctArguments(validate, root, args, defaults);
    if (mode === 'fix' && outcome?.valid === true) return proceed(call, next, outcome.args, outcome.corrections);
    const errors = outcome?.errors ?? (validate(args) ? [] : [...(validate.errors ?? [])]);
    const problems = describeProblems(errors, args, root, outcome?.verdicts ?? noVerdicts);
    const example = buildExample(validate, root, outcome?.args ?? args);
    failures?.inc({ tool: toolName, kind: 'input' });
    return Promise.reject(
      new GatewayError('TG_INVALID_ARGUMENTS', formatInvalidArguments(toolName, problems, example), {
        data: example === undefined ? { problems } : { problems, example },
      }),
    );
  };

  return function validatePolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    const args = call.arguments;
    if (!validate(args)) return repairOrRefuse(call, next);
    if (defaults === undefined) return next(call);
    const filled = fillDefaults(defaults, args);
    if (filled === undefined || !validate(filled.args)) return next(call);
    return proceed(call, next, filled.args, filled.corrections);
  };
}
